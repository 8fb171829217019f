import { monotonicNowMs, ThreadMonitor } from '@phoenix-ipc/monitor';
import { PhoenixError, SpscRingBuffer } from '@phoenix-ipc/ringbuffer';
import { CallerSlot } from './caller-slot.js';
import { fnv1aWords } from './checksum.js';
import {
  createSegmentViews,
  requestAttempt,
  requestFuncId,
  requestSeqId,
  requestStateIndex,
  type SegmentViews,
  setRequestAttempt,
} from './frames.js';
import {
  computeGeometry,
  type LayoutGeometry,
  type LayoutOptions,
  type ResolvedLayoutOptions,
  resolveLayoutOptions,
} from './layout-options.js';
import { HOST_IS_LITTLE_ENDIAN, RequestState } from './protocol.js';
import {
  CHECKSUMMED_WORDS,
  CONCURRENCY_OFFSET,
  CONTROL_NONCE_OFFSET,
  EPOCH_OFFSET,
  FLAGS_OFFSET,
  HANG_TIMEOUT_MS_OFFSET,
  HEADER_BYTES_OFFSET,
  HEADER_CHECKSUM_OFFSET,
  HEARTBEAT_AT_OFFSET,
  HEARTBEAT_OFFSET,
  MAGIC_OFFSET,
  MAX_CLIENTS_OFFSET,
  MAX_PAYLOAD_BYTES_OFFSET,
  NORMAL_PAIR_BYTES_OFFSET,
  NORMAL_QUEUE_CAPACITY_OFFSET,
  NORMAL_RING_DATA_BYTES_OFFSET,
  NORMAL_WORKERS_OFFSET,
  RINGS_OFFSET_OFFSET,
  SEGMENT_HEADER_BYTES,
  SEGMENT_MAGIC,
  SEGMENT_VERSION,
  SEQ_BLOCK_OFFSET,
  SEQ_BLOCK_SIZE,
  SLOT_EPOCH_OFFSET,
  SLOT_RECORD_BYTES_OFFSET,
  SLOT_STRIDE_OFFSET,
  SLOTS_OFFSET_OFFSET,
  SlotState,
  SUPERVISOR_PID_OFFSET,
  SUPERVISOR_START_TIME_OFFSET,
  SUPERVISOR_STATE_OFFSET,
  SupervisorState,
  TOTAL_BYTES_OFFSET,
  VERSION_OFFSET,
  VIP_PAIR_BYTES_OFFSET,
  VIP_QUEUE_CAPACITY_OFFSET,
  VIP_RING_DATA_BYTES_OFFSET,
  VIP_WORKERS_OFFSET,
  WAIT_STRATEGY_OFFSET,
  type WaitStrategy,
  WaitStrategyCode,
  WORKER_EPOCH_OFFSET,
  WORKER_GROUP_OFFSET,
  WORKER_INDEX_OFFSET,
  WORKER_MONITORS_OFFSET,
  WORKER_RECORD_BYTES_OFFSET,
  WORKERS_OFFSET_OFFSET,
  WorkerState,
} from './segment-descriptor.js';
import { type GroupName, WorkerChannel } from './worker-channel.js';

export type SegmentBuffer = ArrayBuffer | SharedArrayBuffer;

/** Who owns a segment; written at format time. */
export interface SegmentIdentity {
  epoch?: number;
  supervisorPid?: number;
  supervisorStartTime?: number;
  controlNonce?: number;
}

/** What probe() found at a mapping. */
export type SegmentProbe =
  | { kind: 'ready' }
  | { kind: 'not-ready'; reason: string }
  | { kind: 'foreign'; reason: string };

/** A monitor that has been PROCESSING longer than the threshold. */
export interface HungTransaction {
  group: GroupName;
  workerIndex: number;
  lane: number;
  seqId: number;
  transaction: number;
  startTimestamp: number;
  elapsedMs: number;
}

/** A request a dead worker had started: answer its caller (or it was re-queued). */
export interface PoisonMessage {
  group: GroupName;
  workerIndex: number;
  lane: number;
  slot: number;
  seqId: number;
  funcId: number;
  /** The attempt that was running when the worker died (1 for the first run). */
  attempt: number;
  /** True when it was put back as PENDING for another run (retry policy). */
  retried: boolean;
}

export interface RecoveryReport {
  group: GroupName;
  workerIndex: number;
  poisons: PoisonMessage[];
  /** Records skipped at the head of the worker's rings (poisons and finished records). */
  skipped: number;
  /** Slots whose request ring with this worker failed validation: their channel needs a fresh format. */
  corruptSlots: number[];
}

export interface RecoverOptions {
  /** Decide whether a poison is re-queued; default: never (the design's 'fail' policy). */
  shouldRetry?: (poison: { seqId: number; funcId: number; attempt: number }) => boolean;
}

const I = (offset: number) => offset >> 2;

function badSegment(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_BAD_SEGMENT', message);
}

/**
 * The self-describing PhoenixIPC segment (byte map: segment-descriptor.ts).
 * Pure TypeScript over an ArrayBuffer or SharedArrayBuffer: format() writes a
 * fresh segment, attach() validates an existing one (magic, version, every
 * recorded size against the configuration and the mapping, a header
 * checksum) before anything else reads it.
 */
export class PhoenixShmLayout {
  readonly buffer: SegmentBuffer;
  readonly options: ResolvedLayoutOptions;
  readonly geometry: LayoutGeometry;
  readonly views: SegmentViews;
  readonly normalChannels: readonly WorkerChannel[];
  readonly vipChannels: readonly WorkerChannel[];
  /** Normal channels then VIP channels: index = globalIndex. */
  readonly channels: readonly WorkerChannel[];
  readonly slots: readonly CallerSlot[];
  #seqNext = 0;
  #seqEnd = 0;

  private constructor(buffer: SegmentBuffer, options: ResolvedLayoutOptions, monitorsFormatted: boolean) {
    this.buffer = buffer;
    this.options = options;
    this.geometry = computeGeometry(options);
    this.views = createSegmentViews(buffer);
    const g = this.geometry;
    const channels: WorkerChannel[] = [];
    for (let w = 0; w < g.totalWorkers; w++) {
      const isNormal = w < options.normalWorkers;
      const group: GroupName = isNormal ? 'normal' : 'vip';
      const index = isNormal ? w : w - options.normalWorkers;
      const recordOffset = g.workersOffset + w * g.workerRecordBytes;
      const firstPairOffset =
        g.ringsOffset +
        (isNormal ? w * g.normalPairBytes : options.normalWorkers * g.normalPairBytes + index * g.vipPairBytes);
      const geometry = {
        recordOffset,
        concurrency: options.concurrency,
        firstPairOffset,
        slotStride: g.slotStride,
        ringBytes: isNormal ? g.normalRing.bytes : g.vipRing.bytes,
        totalSlots: g.totalSlots,
      };
      const monitors: ThreadMonitor[] = [];
      for (let lane = 0; lane < options.concurrency; lane++) {
        const offset = recordOffset + WORKER_MONITORS_OFFSET + lane * ThreadMonitor.BYTES;
        monitors.push(
          monitorsFormatted
            ? ThreadMonitor.attach(buffer, offset)
            : ThreadMonitor.format(buffer, offset, isNormal ? 0 : 1, index),
        );
      }
      channels.push(
        new WorkerChannel(buffer, this.views.words, this.views.doubles, group, index, w, geometry, monitors),
      );
    }
    this.channels = channels;
    this.normalChannels = channels.slice(0, options.normalWorkers);
    this.vipChannels = channels.slice(options.normalWorkers);
    const slots: CallerSlot[] = [];
    for (let s = 0; s < g.totalSlots; s++) {
      slots.push(
        new CallerSlot(this.views.words, this.views.doubles, s, g.slotsOffset + s * g.slotRecordBytes, g.totalWorkers),
      );
    }
    this.slots = slots;
  }

  /** Bytes a segment with these options needs. */
  static requiredSize(options: LayoutOptions = {}): number {
    return computeGeometry(resolveLayoutOptions(options)).totalBytes;
  }

  /**
   * Writes a fresh segment into `buffer`: header, worker records, monitors,
   * caller slots (all FREE) and every ring. The VERSION word is stored last:
   * until then readers see "not ready".
   */
  static format(buffer: SegmentBuffer, options: LayoutOptions = {}, identity: SegmentIdentity = {}): PhoenixShmLayout {
    if (!HOST_IS_LITTLE_ENDIAN)
      throw new PhoenixError('ERR_PHOENIX_UNSUPPORTED_PLATFORM', 'PhoenixIPC needs a little-endian host');
    const resolved = resolveLayoutOptions(options);
    const g = computeGeometry(resolved);
    if (
      !(
        buffer instanceof ArrayBuffer ||
        (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer)
      )
    ) {
      throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', 'buffer must be an ArrayBuffer or SharedArrayBuffer');
    }
    if (buffer.byteLength < g.totalBytes) {
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        `buffer of ${buffer.byteLength} bytes is smaller than the ${g.totalBytes} bytes these options need`,
      );
    }
    const words = new Int32Array(buffer, 0, SEGMENT_HEADER_BYTES >> 2);
    Atomics.store(words, I(VERSION_OFFSET), 0);
    words.fill(0, 2);
    PhoenixShmLayout.#writeHeader(buffer, resolved, g, identity);
    words[I(SUPERVISOR_STATE_OFFSET)] = SupervisorState.Starting;

    // Worker records (monitors are formatted by the constructor) and slots.
    const all = new Int32Array(buffer, 0, g.ringsOffset >> 2);
    all.fill(0, g.workersOffset >> 2, g.ringsOffset >> 2);
    for (let w = 0; w < g.totalWorkers; w++) {
      const base = (g.workersOffset + w * g.workerRecordBytes) >> 2;
      const isNormal = w < resolved.normalWorkers;
      all[base + I(WORKER_GROUP_OFFSET)] = isNormal ? 0 : 1;
      all[base + I(WORKER_INDEX_OFFSET)] = isNormal ? w : w - resolved.normalWorkers;
    }
    const layout = new PhoenixShmLayout(buffer, resolved, false);
    for (const channel of layout.channels) {
      for (let s = 0; s < g.totalSlots; s++) layout.formatRingPair(channel, s);
    }
    Atomics.store(words, I(VERSION_OFFSET), SEGMENT_VERSION);
    return layout;
  }

  // Identity, configuration, geometry and checksum: everything attach() checks.
  static #writeHeader(
    buffer: SegmentBuffer,
    resolved: ResolvedLayoutOptions,
    g: LayoutGeometry,
    identity: SegmentIdentity,
  ): void {
    const words = new Int32Array(buffer, 0, SEGMENT_HEADER_BYTES >> 2);
    const doubles = new Float64Array(buffer, 0, SEGMENT_HEADER_BYTES >> 3);
    Atomics.store(words, I(MAGIC_OFFSET), SEGMENT_MAGIC);
    words[I(HEADER_BYTES_OFFSET)] = SEGMENT_HEADER_BYTES;
    words[I(TOTAL_BYTES_OFFSET)] = g.totalBytes;
    words[I(NORMAL_WORKERS_OFFSET)] = resolved.normalWorkers;
    words[I(VIP_WORKERS_OFFSET)] = resolved.vipWorkers;
    words[I(NORMAL_QUEUE_CAPACITY_OFFSET)] = resolved.normalQueueCapacity;
    words[I(VIP_QUEUE_CAPACITY_OFFSET)] = resolved.vipQueueCapacity;
    words[I(MAX_PAYLOAD_BYTES_OFFSET)] = resolved.maxPayloadBytes;
    words[I(MAX_CLIENTS_OFFSET)] = resolved.maxClients;
    words[I(CONCURRENCY_OFFSET)] = resolved.concurrency;
    words[I(HANG_TIMEOUT_MS_OFFSET)] = resolved.hangTimeoutMs;
    words[I(WAIT_STRATEGY_OFFSET)] = WaitStrategyCode[resolved.waitStrategy];
    words[I(FLAGS_OFFSET)] = 0;
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

  /**
   * The owner's repair of a header a broken peer wrote over: rewrites what
   * attach() validates (identity, configuration, geometry, checksum, version)
   * from the owner's own copy. Returns true if anything had to be fixed.
   */
  repairHeader(identity: SegmentIdentity): boolean {
    if (PhoenixShmLayout.probe(this.buffer).kind === 'ready') {
      const current = PhoenixShmLayout.#readOptions(this.buffer);
      const same = (Object.keys(current) as (keyof ResolvedLayoutOptions)[]).every(
        (key) => current[key] === this.options[key],
      );
      const sameIdentity =
        this.epoch === (identity.epoch ?? 1) &&
        this.supervisorPid === (identity.supervisorPid ?? 0) &&
        this.supervisorStartTime === (identity.supervisorStartTime ?? 0) &&
        this.controlNonce === (identity.controlNonce ?? 0) >>> 0;
      if (same && sameIdentity) return false;
    }
    PhoenixShmLayout.#writeHeader(this.buffer, this.options, this.geometry, identity);
    Atomics.store(this.views.words, I(VERSION_OFFSET), SEGMENT_VERSION);
    return true;
  }

  /**
   * The owner's repair of the static fields of worker records and monitors
   * (group, index, monitor magic, a monitor state that is neither IDLE nor
   * PROCESSING): what attach() checks and a broken peer may have overwritten.
   * Returns how many records needed it.
   */
  repairRecords(): number {
    const words = this.views.words;
    let repaired = 0;
    for (const channel of this.channels) {
      const base = (this.geometry.workersOffset + channel.globalIndex * this.geometry.workerRecordBytes) >> 2;
      if (
        words[base + I(WORKER_GROUP_OFFSET)] !== channel.groupId ||
        words[base + I(WORKER_INDEX_OFFSET)] !== channel.index
      ) {
        words[base + I(WORKER_GROUP_OFFSET)] = channel.groupId;
        words[base + I(WORKER_INDEX_OFFSET)] = channel.index;
        repaired++;
      }
      channel.monitors.forEach((monitor, lane) => {
        try {
          ThreadMonitor.attach(this.buffer, channel.monitorOffset(lane));
        } catch {
          monitor.repair(channel.groupId, channel.index);
          repaired++;
        }
      });
    }
    return repaired;
  }

  /** Writes fresh, empty request and response rings for (channel, slot). */
  formatRingPair(channel: WorkerChannel, slot: number): void {
    const ring = channel.group === 'normal' ? this.geometry.normalRing : this.geometry.vipRing;
    const options = { capacity: ring.capacity, maxMessageSize: ring.maxMessageSize };
    SpscRingBuffer.format(this.buffer, channel.requestRingOffset(slot), options);
    SpscRingBuffer.format(this.buffer, channel.responseRingOffset(slot), options);
    channel.forgetRings(slot);
  }

  /**
   * Classifies what a mapping holds without throwing: a ready PhoenixIPC
   * segment, one still being created (empty, zero-filled, or VERSION still 0),
   * or something foreign (with the reason).
   */
  static probe(buffer: SegmentBuffer): SegmentProbe {
    if (buffer.byteLength < SEGMENT_HEADER_BYTES) {
      if (buffer.byteLength === 0)
        return { kind: 'not-ready', reason: 'the segment is empty (its creator has not sized it yet)' };
      return { kind: 'foreign', reason: `the segment is ${buffer.byteLength} bytes, smaller than a PhoenixIPC header` };
    }
    const words = new Int32Array(buffer, 0, SEGMENT_HEADER_BYTES >> 2);
    const magic = Atomics.load(words, I(MAGIC_OFFSET));
    if (magic === 0 && words.every((word) => word === 0)) {
      return { kind: 'not-ready', reason: 'the segment header is still zero (not formatted yet)' };
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
      PhoenixShmLayout.#readOptions(buffer);
    } catch (error) {
      return { kind: 'foreign', reason: (error as Error).message };
    }
    return { kind: 'ready' };
  }

  /** Attaches to a formatted segment, validating all of its header. Throws ERR_PHOENIX_BAD_SEGMENT naming the problem. */
  static attach(buffer: SegmentBuffer): PhoenixShmLayout {
    const probe = PhoenixShmLayout.probe(buffer);
    if (probe.kind !== 'ready') throw badSegment(probe.reason);
    const options = PhoenixShmLayout.#readOptions(buffer);
    let layout: PhoenixShmLayout;
    try {
      layout = new PhoenixShmLayout(buffer, options, true);
    } catch (error) {
      throw badSegment(`segment structures are corrupt: ${(error as Error).message}`);
    }
    for (const channel of layout.channels) {
      if (channel.recordedGroupId !== channel.groupId || channel.recordedIndex !== channel.index) {
        throw badSegment(
          `worker record ${channel.globalIndex} names group ${channel.recordedGroupId} index ${channel.recordedIndex}`,
        );
      }
    }
    return layout;
  }

  static #readOptions(buffer: SegmentBuffer): ResolvedLayoutOptions {
    const words = new Int32Array(buffer, 0, SEGMENT_HEADER_BYTES >> 2);
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

  // ------------------------------------------------------------ header fields

  get epoch(): number {
    return this.views.words[I(EPOCH_OFFSET)]!;
  }

  get supervisorPid(): number {
    return this.views.words[I(SUPERVISOR_PID_OFFSET)]!;
  }

  get supervisorStartTime(): number {
    return this.views.doubles[SUPERVISOR_START_TIME_OFFSET >> 3]!;
  }

  get controlNonce(): number {
    return this.views.words[I(CONTROL_NONCE_OFFSET)]! >>> 0;
  }

  get supervisorState(): SupervisorState {
    return Atomics.load(this.views.words, I(SUPERVISOR_STATE_OFFSET)) as SupervisorState;
  }

  set supervisorState(value: SupervisorState) {
    Atomics.store(this.views.words, I(SUPERVISOR_STATE_OFFSET), value);
  }

  /** Supervisor liveness: bumps the heartbeat counter and stamps the time. */
  beat(now = monotonicNowMs()): void {
    this.views.doubles[HEARTBEAT_AT_OFFSET >> 3] = now;
    Atomics.add(this.views.words, I(HEARTBEAT_OFFSET), 1);
  }

  get heartbeat(): { count: number; at: number } {
    return {
      count: Atomics.load(this.views.words, I(HEARTBEAT_OFFSET)) >>> 0,
      at: this.views.doubles[HEARTBEAT_AT_OFFSET >> 3]!,
    };
  }

  /** Bumped by the supervisor on every slot state change; workers re-read slots when it moves. */
  get slotEpoch(): number {
    return Atomics.load(this.views.words, I(SLOT_EPOCH_OFFSET));
  }

  bumpSlotEpoch(): void {
    Atomics.add(this.views.words, I(SLOT_EPOCH_OFFSET), 1);
  }

  /** Bumped by the supervisor on every worker state change. */
  get workerEpoch(): number {
    return Atomics.load(this.views.words, I(WORKER_EPOCH_OFFSET));
  }

  bumpWorkerEpoch(): void {
    Atomics.add(this.views.words, I(WORKER_EPOCH_OFFSET), 1);
  }

  // ------------------------------------------------------------- structures

  getNormalChannel(index: number): WorkerChannel {
    return this.#channel(this.normalChannels, index, 'normal');
  }

  getVipChannel(index: number): WorkerChannel {
    return this.#channel(this.vipChannels, index, 'VIP');
  }

  getChannel(group: GroupName, index: number): WorkerChannel {
    return group === 'normal' ? this.getNormalChannel(index) : this.getVipChannel(index);
  }

  getNormalMonitor(index: number): ThreadMonitor {
    return this.getNormalChannel(index).monitor;
  }

  getVipMonitor(index: number): ThreadMonitor {
    return this.getVipChannel(index).monitor;
  }

  getSlot(index: number): CallerSlot {
    const slot = this.slots[index];
    if (slot === undefined) {
      throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `slot ${index} is outside 0..${this.slots.length - 1}`);
    }
    return slot;
  }

  #channel(list: readonly WorkerChannel[], index: number, what: string): WorkerChannel {
    const channel = list[index];
    if (channel === undefined) {
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        `${what} worker ${index} is outside 0..${list.length - 1}`,
      );
    }
    return channel;
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * Index of the normal worker with the fewest pending requests among those
   * serving; if none serves, among those that will (starting, restarting, retiring);
   * -1 when the group has no worker that can ever answer.
   */
  findBestNormalWorker(): number {
    return PhoenixShmLayout.#leastLoaded(this.normalChannels);
  }

  findBestVipWorker(): number {
    return PhoenixShmLayout.#leastLoaded(this.vipChannels);
  }

  static #leastLoaded(channels: readonly WorkerChannel[]): number {
    let best = -1;
    let bestLoad = Number.POSITIVE_INFINITY;
    let fallback = -1;
    let fallbackLoad = Number.POSITIVE_INFINITY;
    for (let i = 0; i < channels.length; i++) {
      const channel = channels[i]!;
      const state = channel.state;
      const load = channel.pending;
      if (state === WorkerState.Running) {
        if (load < bestLoad) {
          best = i;
          bestLoad = load;
        }
      } else if (state !== WorkerState.Down && state !== WorkerState.Stopped) {
        // Starting, restarting, retiring — or a value a broken peer wrote:
        // only DOWN and STOPPED say the worker will never answer.
        if (load < fallbackLoad) {
          fallback = i;
          fallbackLoad = load;
        }
      }
    }
    return best >= 0 ? best : fallback;
  }

  /**
   * A new seq id, unique in this segment across every process. Callers
   * reserve blocks of 1024 ids with one Atomics.add on the shared counter,
   * so the hot path touches no shared line. Ids start at 1 (0 is kInvalidSeqId).
   */
  nextSeqId(): number {
    if (this.#seqNext === this.#seqEnd) {
      const block = Atomics.add(this.views.words, I(SEQ_BLOCK_OFFSET), 1) >>> 0;
      this.#seqNext = block * SEQ_BLOCK_SIZE + 1;
      this.#seqEnd = this.#seqNext + SEQ_BLOCK_SIZE;
    }
    return this.#seqNext++;
  }

  /**
   * Requests queued to a worker and not started yet (PENDING), over every
   * active slot. Walks the rings read-only
   * with throwaway cursors; a corrupt ring counts what it got through.
   */
  queuedRequests(channel: WorkerChannel): number {
    const words = this.views.words;
    let queued = 0;
    for (const slot of this.slots) {
      if (slot.state !== SlotState.Active) continue;
      try {
        const ring = channel.attachRequestRing(slot.index);
        for (let seen = 0; seen <= ring.capacity; seen++) {
          const frame = ring.peekRecord();
          if (frame < 0) break;
          const state = Atomics.load(words, requestStateIndex(frame));
          if (state === RequestState.Pending) queued++;
          ring.take();
        }
      } catch {
        // corrupt ring: not counted further
      }
    }
    return queued;
  }

  // ---------------------------------------------------------------- recovery

  /** Monitors PROCESSING for longer than `thresholdMs` at `nowMs` (hang suspects). */
  scanCrashedWorkers(nowMs: number, thresholdMs: number): HungTransaction[] {
    const found: HungTransaction[] = [];
    for (const channel of this.channels) {
      channel.monitors.forEach((monitor, lane) => {
        const snapshot = monitor.snapshot();
        if (!snapshot.processing) return;
        const elapsedMs = nowMs - snapshot.startTimestamp;
        if (elapsedMs > thresholdMs) {
          found.push({
            group: channel.group,
            workerIndex: channel.index,
            lane,
            seqId: snapshot.seqId,
            transaction: snapshot.transaction,
            startTimestamp: snapshot.startTimestamp,
            elapsedMs,
          });
        }
      });
    }
    return found;
  }

  /**
   * Cleans up after workers that are dead (the caller guarantees it: this
   * takes over their consumer role). For each PROCESSING monitor it finds the
   * exact request (slot + ring position + seq id): if the worker had started
   * it (TAKEN) it is the poison — marked FAILED, or PENDING again with the
   * attempt counted when `shouldRetry` says so. Then finished and failed
   * records at the head of the worker's rings are skipped
   * (forceAdvanceReadIndex), the monitors reset, and the report lists what
   * to answer. Requests that had not started stay queued, untouched.
   */
  recoverCrashedWorkers(
    workers: readonly { group: GroupName; workerIndex: number }[],
    options: RecoverOptions = {},
  ): RecoveryReport[] {
    return workers.map(({ group, workerIndex }) => this.recoverWorker(this.getChannel(group, workerIndex), options));
  }

  recoverWorker(channel: WorkerChannel, options: RecoverOptions = {}): RecoveryReport {
    const words = this.views.words;
    const poisons: PoisonMessage[] = [];
    const touched = new Set<number>();
    const corrupt = new Set<number>();
    channel.monitors.forEach((monitor, lane) => {
      const snapshot = monitor.snapshot();
      if (!snapshot.processing) return;
      const slot = snapshot.slot;
      if (Number.isInteger(slot) && slot >= 0 && slot < this.slots.length && !corrupt.has(slot)) {
        touched.add(slot);
        let frame: number;
        try {
          frame = this.#findRequest(channel, slot, snapshot.ringPosition);
        } catch {
          corrupt.add(slot);
          frame = -1;
        }
        if (frame >= 0 && requestSeqId(words, frame) === snapshot.seqId) {
          const stateIndex = requestStateIndex(frame);
          const taken = Atomics.load(words, stateIndex) === RequestState.Taken;
          if (taken && this.#replyPublished(channel, slot, snapshot.replyMark)) {
            // Died after publishing the reply, before marking the request done: it is not a poison.
            Atomics.compareExchange(words, stateIndex, RequestState.Taken, RequestState.Done);
          } else if (taken) {
            const attempt = requestAttempt(words, frame);
            const funcId = requestFuncId(words, frame);
            const retried = options.shouldRetry?.({ seqId: snapshot.seqId, funcId, attempt }) ?? false;
            if (retried) {
              setRequestAttempt(words, frame, attempt + 1);
              Atomics.compareExchange(words, stateIndex, RequestState.Taken, RequestState.Pending);
            } else {
              Atomics.compareExchange(words, stateIndex, RequestState.Taken, RequestState.Failed);
            }
            poisons.push({
              group: channel.group,
              workerIndex: channel.index,
              lane,
              slot,
              seqId: snapshot.seqId,
              funcId,
              attempt,
              retried,
            });
          }
        }
      }
      monitor.reset();
    });
    let skipped = 0;
    for (let slot = 0; slot < this.slots.length; slot++) {
      if ((this.slots[slot]!.state === SlotState.Free && !touched.has(slot)) || corrupt.has(slot)) continue;
      try {
        skipped += this.#skipFinishedHead(channel, slot);
      } catch {
        corrupt.add(slot);
      }
    }
    return {
      group: channel.group,
      workerIndex: channel.index,
      poisons,
      skipped,
      corruptSlots: [...corrupt].sort((a, b) => a - b),
    };
  }

  // With one handler at a time (concurrency 1), a worker publishes exactly one
  // reply per request into the slot's response ring, so a published count
  // beyond the count it recorded at the start means this request's reply went out.
  #replyPublished(channel: WorkerChannel, slot: number, replyMark: number): boolean {
    if (this.options.concurrency !== 1) return false;
    const published = channel.attachResponseRing(slot).indices().tailCount;
    return ((published - replyMark) | 0) > 0;
  }

  // The request at message index `position` of (channel, slot)'s request ring,
  // or -1 if the consumer already released it (its reply was published).
  #findRequest(channel: WorkerChannel, slot: number, position: number): number {
    const ring = channel.attachRequestRing(slot);
    const distance = (position - ring.consumedCount()) >>> 0;
    if (distance >= ring.capacity) return -1;
    for (let i = 0; i < distance; i++) {
      if (ring.peekRecord() < 0) return -1;
      ring.take();
    }
    return ring.peekRecord();
  }

  // Skips records no one will run (finished, failed, cancelled, moved) at the head.
  #skipFinishedHead(channel: WorkerChannel, slot: number): number {
    const ring = channel.attachRequestRing(slot);
    const words = this.views.words;
    let skipped = 0;
    for (;;) {
      const frame = ring.peekRecord();
      if (frame < 0) break;
      const state = Atomics.load(words, requestStateIndex(frame));
      if (state === RequestState.Pending || state === RequestState.Taken) break;
      ring.take();
      skipped++;
    }
    if (skipped > 0) ring.release();
    return skipped;
  }
}
