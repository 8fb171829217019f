// The public API of @phoenix-ipc/client. What other PhoenixIPC packages need
// beyond it (the caller engine, the wait loop, the control connection) is in
// ./internal.ts, behind the `@phoenix-ipc/client/internal` subpath.
export {
  ERROR_CODES,
  MsgStatus,
  PhoenixError,
  type PhoenixErrorCode,
  type PhoenixErrorDetails,
  Priority,
  type WaitStrategy,
} from '@phoenix-ipc/shm-layout';
export type { CallOptions, Payload, QueueFullPolicy, SyncCallOptions } from './call-options.js';
export { type ClientState, IpcClient, type IpcClientOptions } from './ipc-client.js';
export type { Reply } from './reply.js';
export type { ReplyHandler } from './reply-deliveries.js';
