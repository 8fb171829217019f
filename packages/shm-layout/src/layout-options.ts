import { MONITOR_BYTES } from '@phoenix-ipc/monitor';
import { PhoenixError, RingDescriptor, SpscRingBuffer } from '@phoenix-ipc/ringbuffer';
import { MIN_ERROR_PAYLOAD_BYTES, REQUEST_FRAME_BYTES, RESPONSE_FRAME_BYTES } from './protocol.js';
import { SEGMENT_HEADER_BYTES, type WaitStrategy, WaitStrategyCode } from './segment-header.js';
import { SLOT_ACKS_OFFSET } from './slot-record.js';
import { WORKER_MONITORS_OFFSET } from './worker-record.js';

/** The configuration a segment is formatted with; recorded in its header. */
export interface LayoutOptions {
  normalWorkers?: number;
  vipWorkers?: number;
  normalQueueCapacity?: number;
  vipQueueCapacity?: number;
  maxPayloadBytes?: number;
  maxClients?: number;
  concurrency?: number;
  hangTimeoutMs?: number;
  waitStrategy?: WaitStrategy;
}

export type ResolvedLayoutOptions = Required<LayoutOptions>;

export const DEFAULT_LAYOUT_OPTIONS: ResolvedLayoutOptions = {
  normalWorkers: 4,
  vipWorkers: 2,
  normalQueueCapacity: 1024,
  vipQueueCapacity: 256,
  // 32 KiB keeps the default segment at 31.6 MiB, inside a stock container's 64 MiB /dev/shm (docs/tuning.md).
  maxPayloadBytes: 32 * 1024,
  maxClients: 16,
  concurrency: 1,
  hangTimeoutMs: 30_000,
  waitStrategy: 'adaptive',
};

export const LAYOUT_LIMITS = {
  maxWorkersPerGroup: 64,
  maxClients: 1024,
  maxConcurrency: 256,
  maxQueueCapacity: 1 << 20,
  maxPayloadBytes: 64 * 1024 * 1024,
  maxHangTimeoutMs: 2 ** 31 - 1,
  /** Offsets are u32 and views are indexed by i32: keep the whole segment below 2 GiB. */
  maxSegmentBytes: 2 ** 31 - 4096,
} as const;

/**
 * An option's value as an error message shows it, as written: JSON would show
 * NaN and Infinity as null and throws on a bigint, and a function is named,
 * not printed.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function invalidOption(name: string, value: unknown, expected: string): PhoenixError {
  return new PhoenixError(
    'ERR_PHOENIX_INVALID_ARGUMENT',
    `option ${name} must be ${expected}, got ${describeValue(value)}`,
  );
}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function powerOfTwoIn(name: string, value: unknown, max: number): number {
  integerIn(name, value, 1, max);
  const n = value as number;
  if ((n & (n - 1)) !== 0) throw invalidOption(name, value, `a power of two from 1 to ${max}`);
  return n;
}

/** Fills defaults and validates; an invalid option throws ERR_PHOENIX_INVALID_ARGUMENT naming it and its value. */
export function resolveLayoutOptions(options: LayoutOptions = {}): ResolvedLayoutOptions {
  if (typeof options !== 'object' || options === null) {
    throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', 'options must be an object');
  }
  const merged = { ...DEFAULT_LAYOUT_OPTIONS };
  for (const key of Object.keys(DEFAULT_LAYOUT_OPTIONS) as (keyof LayoutOptions)[]) {
    if (options[key] !== undefined) (merged as Record<string, unknown>)[key] = options[key];
  }
  const limits = LAYOUT_LIMITS;
  integerIn('normalWorkers', merged.normalWorkers, 1, limits.maxWorkersPerGroup);
  integerIn('vipWorkers', merged.vipWorkers, 0, limits.maxWorkersPerGroup);
  powerOfTwoIn('normalQueueCapacity', merged.normalQueueCapacity, limits.maxQueueCapacity);
  powerOfTwoIn('vipQueueCapacity', merged.vipQueueCapacity, limits.maxQueueCapacity);
  integerIn('maxPayloadBytes', merged.maxPayloadBytes, 0, limits.maxPayloadBytes);
  integerIn('maxClients', merged.maxClients, 0, limits.maxClients);
  integerIn('concurrency', merged.concurrency, 1, limits.maxConcurrency);
  integerIn('hangTimeoutMs', merged.hangTimeoutMs, 1, limits.maxHangTimeoutMs);
  if (!Object.hasOwn(WaitStrategyCode, merged.waitStrategy)) {
    throw invalidOption('waitStrategy', merged.waitStrategy, "'adaptive', 'spin' or 'block'");
  }
  const geometry = computeGeometry(merged);
  if (geometry.totalBytes > limits.maxSegmentBytes) {
    throw new PhoenixError(
      'ERR_PHOENIX_INVALID_ARGUMENT',
      `these options need a ${geometry.totalBytes}-byte segment, more than the ${limits.maxSegmentBytes} supported; lower maxPayloadBytes, queue capacities, workers or maxClients`,
    );
  }
  return merged;
}

/** Where everything is, derived from the options alone (so attach can recompute and compare). */
export interface LayoutGeometry {
  totalWorkers: number;
  totalSlots: number;
  workerRecordBytes: number;
  slotRecordBytes: number;
  workersOffset: number;
  slotsOffset: number;
  ringsOffset: number;
  normalRing: { capacity: number; maxMessageSize: number; bytes: number; dataBytes: number };
  vipRing: { capacity: number; maxMessageSize: number; bytes: number; dataBytes: number };
  normalPairBytes: number;
  vipPairBytes: number;
  slotStride: number;
  totalBytes: number;
}

/** Extra caller slots beyond maxClients (see computeGeometry). */
export function spareSlots(maxClients: number): number {
  return Math.min(maxClients, 4);
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

export function computeGeometry(options: ResolvedLayoutOptions): LayoutGeometry {
  const totalWorkers = options.normalWorkers + options.vipWorkers;
  // Slot 0 is the supervisor's; maxClients for clients; and a few spares, so
  // that a client that died while a worker still runs one of its requests
  // (its slot drains until that handler returns) does not hold up the next.
  const totalSlots = 1 + options.maxClients + spareSlots(options.maxClients);
  const workerRecordBytes = WORKER_MONITORS_OFFSET + options.concurrency * MONITOR_BYTES;
  const slotRecordBytes = SLOT_ACKS_OFFSET + align(8 * totalWorkers, 64);
  // Both directions carry up to maxPayloadBytes; an error reply always has room for its message.
  const frame = Math.max(REQUEST_FRAME_BYTES, RESPONSE_FRAME_BYTES);
  const maxMessageSize = frame + Math.max(options.maxPayloadBytes, MIN_ERROR_PAYLOAD_BYTES);
  const ring = (capacity: number) => {
    const bytes = SpscRingBuffer.requiredBytes({ capacity, maxMessageSize });
    return { capacity, maxMessageSize, bytes, dataBytes: bytes - RingDescriptor.HEADER_BYTES };
  };
  const normalRing = ring(options.normalQueueCapacity);
  const vipRing = ring(options.vipQueueCapacity);
  const normalPairBytes = 2 * normalRing.bytes;
  const vipPairBytes = 2 * vipRing.bytes;
  const slotStride = options.normalWorkers * normalPairBytes + options.vipWorkers * vipPairBytes;
  const workersOffset = SEGMENT_HEADER_BYTES;
  const slotsOffset = workersOffset + totalWorkers * workerRecordBytes;
  const ringsOffset = align(slotsOffset + totalSlots * slotRecordBytes, 4096);
  const totalBytes = ringsOffset + totalSlots * slotStride;
  return {
    totalWorkers,
    totalSlots,
    workerRecordBytes,
    slotRecordBytes,
    workersOffset,
    slotsOffset,
    ringsOffset,
    normalRing,
    vipRing,
    normalPairBytes,
    vipPairBytes,
    slotStride,
    totalBytes,
  };
}
