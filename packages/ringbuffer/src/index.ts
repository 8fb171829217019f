export {
  ERROR_CODES,
  isPhoenixErrorCode,
  PhoenixError,
  type PhoenixErrorCode,
  type PhoenixErrorDetails,
  type RemoteError,
  type ValidationIssue,
} from '@phoenix-ipc/errors';
export * as RingDescriptor from './ring-descriptor.js';
export type { RingOptions, RingRegion } from './ring-options.js';
export { SpscRingBuffer } from './spsc-ring-buffer.js';
