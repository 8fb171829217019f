export {
  type CallOptions,
  IpcClient,
  type IpcClientOptions,
  type Reply,
  type ReplyHandler,
  type SyncCallOptions,
} from '@phoenix-ipc/client';
export {
  ERROR_CODES,
  kInvalidSeqId,
  MsgHeader,
  MsgStatus,
  PhoenixError,
  type PhoenixErrorCode,
  PhoenixShmLayout,
  Priority,
  type WaitStrategy,
} from '@phoenix-ipc/shm-layout';
export type { CallStats, LatencySummary, MetricsSnapshot } from './call-metrics.js';
export type { WorkerCrashInfo } from './crash-policy.js';
export type { Handler, HandlerResult, RawHandler, RawRequest, ResponseHeader } from './handler-registry.js';
export { IpcServer, type StopOptions } from './ipc-server.js';
export type {
  CrashLoopOptions,
  IpcServerOptions,
  RecycleOptions,
  RestartBackoffOptions,
  WorkerCrashPolicy,
} from './server-options.js';
export type { SpareGroupStats, SpareStats } from './spare-pool.js';
export type { ServerState } from './supervisor.js';
export { readWorkerEnvironment, WORKER_ENV, type WorkerEnvironment } from './worker-environment.js';
export type { WorkerStats } from './worker-stats.js';
