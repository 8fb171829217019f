/**
 * Reads, writes and checks the segment header (byte map: segment-header.ts).
 * Everything crossing the process boundary is validated here before anyone
 * trusts it: magic, version, the checksum, the recorded configuration, and
 * every recorded size and offset against the geometry that configuration
 * implies and against the mapping's length.
 */
import { PhoenixError } from '@phoenix-ipc/ringbuffer';
import { fnv1aWords } from './checksum.js';
import {
  computeGeometry,
  type LayoutGeometry,
  type ResolvedLayoutOptions,
  resolveLayoutOptions,
} from './layout-options.js';
import {
  CHECKSUMMED_WORDS,
  CONCURRENCY_OFFSET,
  CONTROL_NONCE_OFFSET,
  EPOCH_OFFSET,
  HANG_TIMEOUT_MS_OFFSET,
  HEADER_BYTES_OFFSET,
  HEADER_CHECKSUM_OFFSET,
  MAGIC_OFFSET,
  MAX_CLIENTS_OFFSET,
  MAX_PAYLOAD_BYTES_OFFSET,
  NORMAL_PAIR_BYTES_OFFSET,
  NORMAL_QUEUE_CAPACITY_OFFSET,
  NORMAL_RING_DATA_BYTES_OFFSET,
  NORMAL_WORKERS_OFFSET,
  RESERVED_CONFIG_OFFSET,
  RINGS_OFFSET_OFFSET,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  SEGMENT_VERSION,
  SLOT_RECORD_BYTES_OFFSET,
  SLOT_STRIDE_OFFSET,
  SLOTS_OFFSET_OFFSET,
  SUPERVISOR_PID_OFFSET,
  SUPERVISOR_START_TIME_OFFSET,
  TOTAL_BYTES_OFFSET,
  VERSION_OFFSET,
  VIP_PAIR_BYTES_OFFSET,
  VIP_QUEUE_CAPACITY_OFFSET,
  VIP_RING_DATA_BYTES_OFFSET,
  VIP_WORKERS_OFFSET,
  WAIT_STRATEGY_OFFSET,
  type WaitStrategy,
  WaitStrategyCode,
  WORKER_RECORD_BYTES_OFFSET,
  WORKERS_OFFSET_OFFSET,
} from './segment-header.js';

export type SegmentBuffer = ArrayBuffer | SharedArrayBuffer;

/** Who owns a segment; written at format time. */
export interface SegmentIdentity {
  epoch?: number;
  supervisorPid?: number;
  supervisorStartTime?: number;
  controlNonce?: number;
}

/** What probeHeader() found at a mapping. */
export type SegmentProbe =
  | { kind: 'ready' }
  | { kind: 'not-ready'; reason: string }
  | { kind: 'foreign'; reason: string };

const I = (offset: number) => offset >> 2;

export function badSegment(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_BAD_SEGMENT', message);
}

function headerWords(buffer: SegmentBuffer): Int32Array {
  return new Int32Array(buffer, 0, SEGMENT_HEADER_BYTES >> 2);
}

/**
 * Writes identity, configuration, geometry and checksum: everything attach()
 * checks. VERSION is not touched: format() stores it last, as "ready".
 */
export function writeHeader(
  buffer: SegmentBuffer,
  options: ResolvedLayoutOptions,
  g: LayoutGeometry,
  identity: SegmentIdentity,
): void {
  const words = headerWords(buffer);
  const doubles = new Float64Array(buffer, 0, SEGMENT_HEADER_BYTES >> 3);
  Atomics.store(words, I(MAGIC_OFFSET), SEGMENT_MAGIC);
  words[I(HEADER_BYTES_OFFSET)] = SEGMENT_HEADER_BYTES;
  words[I(TOTAL_BYTES_OFFSET)] = g.totalBytes;
  words[I(NORMAL_WORKERS_OFFSET)] = options.normalWorkers;
  words[I(VIP_WORKERS_OFFSET)] = options.vipWorkers;
  words[I(NORMAL_QUEUE_CAPACITY_OFFSET)] = options.normalQueueCapacity;
  words[I(VIP_QUEUE_CAPACITY_OFFSET)] = options.vipQueueCapacity;
  words[I(MAX_PAYLOAD_BYTES_OFFSET)] = options.maxPayloadBytes;
  words[I(MAX_CLIENTS_OFFSET)] = options.maxClients;
  words[I(CONCURRENCY_OFFSET)] = options.concurrency;
  words[I(HANG_TIMEOUT_MS_OFFSET)] = options.hangTimeoutMs;
  words[I(WAIT_STRATEGY_OFFSET)] = WaitStrategyCode[options.waitStrategy];
  words[I(RESERVED_CONFIG_OFFSET)] = 0;
  words[I(NORMAL_RING_DATA_BYTES_OFFSET)] = g.normalRing.dataBytes;
  words[I(VIP_RING_DATA_BYTES_OFFSET)] = g.vipRing.dataBytes;
  words[I(WORKER_RECORD_BYTES_OFFSET)] = g.workerRecordBytes;
  words[I(SLOT_RECORD_BYTES_OFFSET)] = g.slotRecordBytes;
  words[I(WORKERS_OFFSET_OFFSET)] = g.workersOffset;
  words[I(SLOTS_OFFSET_OFFSET)] = g.slotsOffset;
  words[I(RINGS_OFFSET_OFFSET)] = g.ringsOffset;
  words[I(SLOT_STRIDE_OFFSET)] = g.slotStride;
  words[I(NORMAL_PAIR_BYTES_OFFSET)] = g.normalPairBytes;
  words[I(VIP_PAIR_BYTES_OFFSET)] = g.vipPairBytes;
  words[I(EPOCH_OFFSET)] = identity.epoch ?? 1;
  words[I(SUPERVISOR_PID_OFFSET)] = identity.supervisorPid ?? 0;
  words[I(CONTROL_NONCE_OFFSET)] = identity.controlNonce ?? 0;
  doubles[SUPERVISOR_START_TIME_OFFSET >> 3] = identity.supervisorStartTime ?? 0;
  words[I(HEADER_CHECKSUM_OFFSET)] = fnv1aWords(words, 0, CHECKSUMMED_WORDS, I(VERSION_OFFSET));
}

/** Marks the header ready (release: a reader that sees the version sees everything written before it). */
export function publishVersion(buffer: SegmentBuffer): void {
  Atomics.store(headerWords(buffer), I(VERSION_OFFSET), SEGMENT_VERSION);
}

/** Marks the header not ready and clears the rest of it, before a format. */
export function clearHeader(buffer: SegmentBuffer): void {
  const words = headerWords(buffer);
  Atomics.store(words, I(VERSION_OFFSET), 0);
  words.fill(0, I(HEADER_BYTES_OFFSET));
}

/**
 * Classifies what a mapping holds without throwing: a ready PhoenixIPC
 * segment, one still being created (empty, zero-filled, or VERSION still 0),
 * or something foreign (with the reason).
 */
export function probeHeader(buffer: SegmentBuffer): SegmentProbe {
  if (buffer.byteLength < SEGMENT_HEADER_BYTES) {
    if (buffer.byteLength === 0)
      return { kind: 'not-ready', reason: 'the segment is empty (its creator has not sized it yet)' };
    return { kind: 'foreign', reason: `the segment is ${buffer.byteLength} bytes, smaller than a PhoenixIPC header` };
  }
  const words = headerWords(buffer);
  const magic = Atomics.load(words, I(MAGIC_OFFSET));
  if (magic === 0 && words.every((word) => word === 0)) {
    return { kind: 'not-ready', reason: 'the segment header is still zero (not formatted yet)' };
  }
  // A creator stores the magic first and the rest after it: a reader that loaded the magic just before it was
  // stored, and the rest just after, sees a header written but for its magic. Loaded again, the magic is there.
  if (magic === 0 && Atomics.load(words, I(MAGIC_OFFSET)) === SEGMENT_MAGIC) {
    return { kind: 'not-ready', reason: 'the segment is still being formatted (its magic was just written)' };
  }
  if (magic !== SEGMENT_MAGIC) {
    return {
      kind: 'foreign',
      reason: `magic 0x${(magic >>> 0).toString(16)}, expected 0x${SEGMENT_MAGIC.toString(16)} ("PHNX")`,
    };
  }
  const version = Atomics.load(words, I(VERSION_OFFSET));
  if (version === 0) return { kind: 'not-ready', reason: 'the segment is still being formatted (version 0)' };
  if (version !== SEGMENT_VERSION)
    return { kind: 'foreign', reason: `version ${version}, expected ${SEGMENT_VERSION}` };
  try {
    readHeaderOptions(buffer);
  } catch (error) {
    return { kind: 'foreign', reason: (error as Error).message };
  }
  return { kind: 'ready' };
}

/**
 * The configuration recorded in the header, after checking the checksum and
 * that every recorded size and offset is the one that configuration implies
 * and fits the mapping. Throws ERR_PHOENIX_BAD_SEGMENT naming the problem.
 */
export function readHeaderOptions(buffer: SegmentBuffer): ResolvedLayoutOptions {
  const words = headerWords(buffer);
  const checksum = fnv1aWords(words, 0, CHECKSUMMED_WORDS, I(VERSION_OFFSET));
  if (words[I(HEADER_CHECKSUM_OFFSET)] !== checksum) {
    throw badSegment(
      `header checksum 0x${(words[I(HEADER_CHECKSUM_OFFSET)]! >>> 0).toString(16)}, computed 0x${(checksum >>> 0).toString(16)}`,
    );
  }
  if (words[I(HEADER_BYTES_OFFSET)] !== SEGMENT_HEADER_BYTES) {
    throw badSegment(`header size ${words[I(HEADER_BYTES_OFFSET)]}, expected ${SEGMENT_HEADER_BYTES}`);
  }
  const strategyCode = words[I(WAIT_STRATEGY_OFFSET)]!;
  const waitStrategy = (Object.keys(WaitStrategyCode) as WaitStrategy[]).find(
    (key) => WaitStrategyCode[key] === strategyCode,
  );
  if (waitStrategy === undefined) throw badSegment(`wait strategy code ${strategyCode} is unknown`);
  let options: ResolvedLayoutOptions;
  try {
    options = resolveLayoutOptions({
      normalWorkers: words[I(NORMAL_WORKERS_OFFSET)],
      vipWorkers: words[I(VIP_WORKERS_OFFSET)],
      normalQueueCapacity: words[I(NORMAL_QUEUE_CAPACITY_OFFSET)],
      vipQueueCapacity: words[I(VIP_QUEUE_CAPACITY_OFFSET)],
      maxPayloadBytes: words[I(MAX_PAYLOAD_BYTES_OFFSET)],
      maxClients: words[I(MAX_CLIENTS_OFFSET)],
      concurrency: words[I(CONCURRENCY_OFFSET)],
      hangTimeoutMs: words[I(HANG_TIMEOUT_MS_OFFSET)],
      waitStrategy,
    });
  } catch (error) {
    throw badSegment(`recorded configuration is invalid: ${(error as Error).message}`);
  }
  const g = computeGeometry(options);
  const expect = (offset: number, name: string, value: number) => {
    const actual = words[I(offset)]!;
    if (actual !== value) throw badSegment(`${name} is ${actual}, expected ${value} for the recorded configuration`);
  };
  expect(TOTAL_BYTES_OFFSET, 'total size', g.totalBytes);
  expect(NORMAL_RING_DATA_BYTES_OFFSET, 'normal ring data size', g.normalRing.dataBytes);
  expect(VIP_RING_DATA_BYTES_OFFSET, 'VIP ring data size', g.vipRing.dataBytes);
  expect(WORKER_RECORD_BYTES_OFFSET, 'worker record size', g.workerRecordBytes);
  expect(SLOT_RECORD_BYTES_OFFSET, 'slot record size', g.slotRecordBytes);
  expect(WORKERS_OFFSET_OFFSET, 'workers offset', g.workersOffset);
  expect(SLOTS_OFFSET_OFFSET, 'slots offset', g.slotsOffset);
  expect(RINGS_OFFSET_OFFSET, 'rings offset', g.ringsOffset);
  expect(SLOT_STRIDE_OFFSET, 'slot stride', g.slotStride);
  expect(NORMAL_PAIR_BYTES_OFFSET, 'normal ring pair size', g.normalPairBytes);
  expect(VIP_PAIR_BYTES_OFFSET, 'VIP ring pair size', g.vipPairBytes);
  if (g.totalBytes > buffer.byteLength) {
    throw badSegment(`the header describes ${g.totalBytes} bytes but the mapping has ${buffer.byteLength}`);
  }
  return options;
}

/** The identity the header records. */
export function readIdentity(buffer: SegmentBuffer): Required<SegmentIdentity> {
  const words = headerWords(buffer);
  return {
    epoch: words[I(EPOCH_OFFSET)]!,
    supervisorPid: words[I(SUPERVISOR_PID_OFFSET)]!,
    supervisorStartTime: new Float64Array(buffer, 0, SEGMENT_HEADER_BYTES >> 3)[SUPERVISOR_START_TIME_OFFSET >> 3]!,
    controlNonce: words[I(CONTROL_NONCE_OFFSET)]! >>> 0,
  };
}

/** True when the header is ready and records exactly these options and this identity. */
export function headerMatches(
  buffer: SegmentBuffer,
  options: ResolvedLayoutOptions,
  identity: SegmentIdentity,
): boolean {
  if (probeHeader(buffer).kind !== 'ready') return false;
  const current = readHeaderOptions(buffer);
  const sameOptions = (Object.keys(current) as (keyof ResolvedLayoutOptions)[]).every(
    (key) => current[key] === options[key],
  );
  const recorded = readIdentity(buffer);
  return (
    sameOptions &&
    recorded.epoch === (identity.epoch ?? 1) &&
    recorded.supervisorPid === (identity.supervisorPid ?? 0) &&
    recorded.supervisorStartTime === (identity.supervisorStartTime ?? 0) &&
    recorded.controlNonce === (identity.controlNonce ?? 0) >>> 0
  );
}
