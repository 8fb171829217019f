export { ERROR_CODES, PhoenixError, type PhoenixErrorCode } from '@phoenix-ipc/ringbuffer';
export * as MonitorDescriptor from './monitor-descriptor.js';
export {
  GROUP_NORMAL,
  GROUP_VIP,
  MONITOR_BYTES,
  MONITOR_STATE_IDLE,
  MONITOR_STATE_PROCESSING,
} from './monitor-descriptor.js';
export { monotonicNowMs } from './monotonic-clock.js';
export { type MonitorRegion, type MonitorSnapshot, ThreadMonitor } from './thread-monitor.js';
