export {
  ERROR_CODES,
  kInvalidSeqId,
  MsgHeader,
  MsgStatus,
  PhoenixError,
  type PhoenixErrorCode,
  Priority,
  type WaitStrategy,
} from '@phoenix-ipc/shm-layout';
export { AdaptiveSpin, runnableThreads } from './adaptive-spin.js';
export {
  type CallOptions,
  checkFuncId,
  checkQueueFullPolicy,
  checkTimeout,
  DefaultCallOptions,
  type QueueFullPolicy,
  type ResolvedCall,
  resolveCallOptions,
  type SyncCallOptions,
  toPayload,
} from './call-options.js';
export { Caller } from './caller.js';
export { type CallEvent, CallerEngine, type CallerEngineConfig, type CallObserver } from './caller-engine.js';
export { ControlConnection, type ControlHandlers } from './control-connection.js';
export {
  CONTROL_PROTOCOL_VERSION,
  type ControlMessage,
  controlSocketName,
  decodeControlMessage,
  encodeControlMessage,
} from './control-protocol.js';
export { ringIfParked } from './doorbell-flag.js';
export {
  decodeErrorPayload,
  describeThrown,
  type ErrorPayload,
  encodeErrorPayload,
  errorPayloadFrom,
  type TransportedDetails,
  toJsonSafe,
} from './error-payload.js';
export { type ClientState, IpcClient, type IpcClientOptions } from './ipc-client.js';
export type { Reply } from './reply.js';
