export { monotonicNowMs, ThreadMonitor } from '@phoenix-ipc/monitor';
export {
  ERROR_CODES,
  isPhoenixErrorCode,
  PhoenixError,
  type PhoenixErrorCode,
  type PhoenixErrorDetails,
  SpscRingBuffer,
} from '@phoenix-ipc/ringbuffer';
export { CallerSlot } from './caller-slot.js';
export { fnv1aHex, fnv1aWords } from './checksum.js';
export {
  CONTROL_PROTOCOL_VERSION,
  type ControlMessage,
  controlSocketName,
  decodeControlMessage,
  encodeControlMessage,
} from './control-protocol.js';
export { BurstReadings, type DispatchOptions, leastLoadedWorker, NO_WORKER, WAIT_FOR_WORKER } from './dispatch.js';
export {
  decodeErrorPayload,
  ERROR_FACT_CHECKS,
  type ErrorPayload,
  encodeErrorPayload,
  errorPayloadFrom,
  type TransportedDetails,
} from './error-payload.js';
export * as Frames from './frames.js';
export { createSegmentViews, type SegmentViews } from './frames.js';
export type { SegmentBuffer, SegmentIdentity, SegmentProbe } from './header-codec.js';
export {
  computeGeometry,
  DEFAULT_LAYOUT_OPTIONS,
  describeValue,
  LAYOUT_LIMITS,
  type LayoutGeometry,
  type LayoutOptions,
  type ResolvedLayoutOptions,
  resolveLayoutOptions,
  spareSlots,
} from './layout-options.js';
export { PhoenixShmLayout } from './phoenix-shm-layout.js';
export {
  HOST_IS_LITTLE_ENDIAN,
  isApplicationFuncId,
  kInvalidSeqId,
  MAX_FUNC_ID,
  MIN_APPLICATION_FUNC_ID,
  MSG_HEADER_BYTES,
  MsgHeader,
  MsgStatus,
  Priority,
  REQUEST_FRAME_BYTES,
  RESPONSE_FRAME_BYTES,
  RequestState,
} from './protocol.js';
export type { HungTransaction, PoisonMessage, RecoverOptions, RecoveryReport } from './recovery.js';
export * as SegmentDescriptor from './segment-descriptor.js';
export { SEGMENT_MAGIC, SEGMENT_VERSION, SupervisorState, type WaitStrategy } from './segment-header.js';
export { SlotState, SUPERVISOR_SLOT } from './slot-record.js';
export { describeThrown, toJsonSafe } from './thrown-values.js';
export { type ChannelGeometry, type GroupName, WorkerChannel } from './worker-channel.js';
export { GROUP_NORMAL, GROUP_VIP, WorkerState } from './worker-record.js';
