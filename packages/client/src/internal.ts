/**
 * `@phoenix-ipc/client/internal`: the parts of the client that the other
 * PhoenixIPC packages build on (the supervisor's own calls, the worker's wait
 * loop, the NATS caller's option checks and abort listening, the typed
 * services' memory for big binary values). Not for applications: nothing here
 * is covered by semver, and it changes with the packages that use it.
 */
export { AbortWatch } from './abort-watch.js';
export { AdaptiveSpin } from './adaptive-spin.js';
export {
  checkFuncId,
  checkQueueFullPolicy,
  checkTimeout,
  contiguousPayload,
  DefaultCallOptions,
  payloadLength,
  type RequestBytes,
  type ResolvedCall,
  resolveCallOptions,
  toPayload,
} from './call-options.js';
export { Caller, callDecoded } from './caller.js';
export { type CallEvent, CallerEngine, type CallerEngineConfig, type CallObserver } from './caller-engine.js';
export { ControlConnection, type ControlHandlers } from './control-connection.js';
export { copyRange } from './copy-range.js';
export { CpuYield } from './cpu-yield.js';
export { ringIfParked } from './doorbell-flag.js';
export type { ErrorMapper, ReplyDecoder } from './reply.js';
export { noteFreshReplyMemory, shouldSweepInPause } from './reply-memory-gc.js';
export { checkRetainFreedMemoryMb, retainReplyMemory } from './retain-reply-memory.js';
export { rethrowLater } from './rethrow-later.js';
export { clearUnrefTimer } from './unref-timer.js';
export { SpinThenPark, type Waiter } from './waiter.js';
export { replyMemory, WarmReplyBuffer } from './warm-reply-buffer.js';
