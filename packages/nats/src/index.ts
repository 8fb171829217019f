export {
  type CallOptions,
  ERROR_CODES,
  PhoenixError,
  type PhoenixErrorCode,
  Priority,
  type Reply,
} from '@phoenix-ipc/client';
export { MsgStatus } from '@phoenix-ipc/shm-layout';
export { type BridgeStats, NatsBridge, serveOverNats } from './bridge.js';
export { DEFAULT_MAX_IN_FLIGHT, type ServeOverNatsOptions } from './bridge-options.js';
export type { NatsConnectOptions } from './connection.js';
export { NatsCaller, type NatsCallerOptions, type NatsReply } from './nats-caller.js';
export {
  DEADLINE_HEADER,
  ERROR_HEADER,
  FUNC_ID_HEADER,
  PRIORITY_HEADER,
  requestSubject,
  VERSION_HEADER,
  WIRE_VERSION,
} from './wire.js';
