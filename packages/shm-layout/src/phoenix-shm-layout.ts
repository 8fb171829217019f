// Over 400 lines on purpose: the segment as one object graph (format, attach,
// the views and accessors every part reads). The descriptors (segment-header,
// worker-record, slot-record), the header codec, dispatch and recovery live
// in their own modules; what stays here is what ties them to one mapping.
import { monotonicNowMs, ThreadMonitor } from '@phoenix-ipc/monitor';
import { PhoenixError, SpscRingBuffer } from '@phoenix-ipc/ringbuffer';
import { CallerSlot } from './caller-slot.js';
import { leastLoadedWorker, queuedBeyondPending } from './dispatch.js';
import { createSegmentViews, requestStateIndex, type SegmentViews } from './frames.js';
import {
  badSegment,
  clearHeader,
  headerMatches,
  probeHeader,
  publishVersion,
  readHeaderOptions,
  type SegmentBuffer,
  type SegmentIdentity,
  type SegmentProbe,
  writeHeader,
} from './header-codec.js';
import {
  computeGeometry,
  type LayoutGeometry,
  type LayoutOptions,
  type ResolvedLayoutOptions,
  resolveLayoutOptions,
} from './layout-options.js';
import { HOST_IS_LITTLE_ENDIAN, RequestState } from './protocol.js';
import {
  type HungTransaction,
  type RecoverOptions,
  type RecoveryReport,
  recoverCrashedWorkers,
  recoverWorker,
  scanHungTransactions,
} from './recovery.js';
import {
  CHECKSUMMED_WORDS,
  CONTROL_NONCE_OFFSET,
  EPOCH_OFFSET,
  HEARTBEAT_AT_OFFSET,
  HEARTBEAT_OFFSET,
  NORMAL_SPARES_READY_OFFSET,
  SEQ_BLOCK_OFFSET,
  SEQ_BLOCK_SIZE,
  SLOT_EPOCH_OFFSET,
  SUPERVISOR_PID_OFFSET,
  SUPERVISOR_START_TIME_OFFSET,
  SUPERVISOR_STATE_OFFSET,
  SupervisorState,
  VIP_SPARES_READY_OFFSET,
  WORKER_EPOCH_OFFSET,
} from './segment-header.js';
import { SlotState } from './slot-record.js';
import { type GroupName, WorkerChannel } from './worker-channel.js';
import {
  GROUP_NORMAL,
  GROUP_VIP,
  WORKER_GROUP_OFFSET,
  WORKER_INDEX_OFFSET,
  WORKER_MONITORS_OFFSET,
} from './worker-record.js';

const I = (offset: number) => offset >> 2;

function checkSegmentBuffer(buffer: unknown): asserts buffer is SegmentBuffer {
  const isBuffer =
    buffer instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer);
  if (!isBuffer)
    throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', 'buffer must be an ArrayBuffer or SharedArrayBuffer');
}

/**
 * The self-describing PhoenixIPC segment (byte map: segment-descriptor.ts).
 * Pure TypeScript over an ArrayBuffer or SharedArrayBuffer: format() writes a
 * fresh segment, attach() validates an existing one (header-codec.ts: magic,
 * version, every recorded size against the configuration and the mapping, a
 * header checksum) before anything else reads it, then builds the object
 * graph: a WorkerChannel per worker, a CallerSlot per slot.
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
  /** The owner's last verified copy of the header's static words (up to and with the checksum). */
  #headerCopy: Int32Array | null = null;

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
            : ThreadMonitor.format(buffer, offset, isNormal ? GROUP_NORMAL : GROUP_VIP, index),
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
    checkSegmentBuffer(buffer);
    if (buffer.byteLength < g.totalBytes) {
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        `buffer of ${buffer.byteLength} bytes is smaller than the ${g.totalBytes} bytes these options need`,
      );
    }
    clearHeader(buffer);
    writeHeader(buffer, resolved, g, identity);

    // Worker records (monitors are formatted by the constructor) and slots.
    const all = new Int32Array(buffer, 0, g.ringsOffset >> 2);
    all.fill(0, g.workersOffset >> 2, g.ringsOffset >> 2);
    for (let w = 0; w < g.totalWorkers; w++) {
      const base = (g.workersOffset + w * g.workerRecordBytes) >> 2;
      const isNormal = w < resolved.normalWorkers;
      all[base + I(WORKER_GROUP_OFFSET)] = isNormal ? GROUP_NORMAL : GROUP_VIP;
      all[base + I(WORKER_INDEX_OFFSET)] = isNormal ? w : w - resolved.normalWorkers;
    }
    const layout = new PhoenixShmLayout(buffer, resolved, false);
    layout.supervisorState = SupervisorState.Starting;
    for (const channel of layout.channels) {
      for (let s = 0; s < g.totalSlots; s++) layout.formatRingPair(channel, s);
    }
    publishVersion(buffer);
    return layout;
  }

  /**
   * The owner's repair of a header a broken peer wrote over: rewrites what
   * attach() validates (identity, configuration, geometry, checksum, version)
   * from the owner's own copy. Returns true if anything had to be fixed.
   */
  repairHeader(identity: SegmentIdentity): boolean {
    // The owner repairs on every heartbeat, idle or not: comparing the static
    // words with the copy it last verified is the cheap common case.
    const words = this.views.words;
    const copy = this.#headerCopy;
    if (copy !== null) {
      let same = true;
      for (let i = 0; i < copy.length && same; i++) same = Atomics.load(words, i) === copy[i];
      if (same) return false;
    }
    const repaired = !headerMatches(this.buffer, this.options, identity);
    if (repaired) {
      writeHeader(this.buffer, this.options, this.geometry, identity);
      publishVersion(this.buffer);
    }
    this.#headerCopy = words.slice(0, CHECKSUMMED_WORDS + 1);
    return repaired;
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
      for (const monitor of channel.monitors) {
        if (monitor.intact()) continue;
        monitor.repair(channel.groupId, channel.index);
        repaired++;
      }
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
    return probeHeader(buffer);
  }

  /** Attaches to a formatted segment, validating all of its header. Throws ERR_PHOENIX_BAD_SEGMENT naming the problem. */
  static attach(buffer: SegmentBuffer): PhoenixShmLayout {
    checkSegmentBuffer(buffer);
    const probe = probeHeader(buffer);
    if (probe.kind !== 'ready') throw badSegment(probe.reason);
    const options = readHeaderOptions(buffer);
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

  /** Warm spare workers of `group` booted and waiting for an index (the supervisor publishes it). */
  sparesReady(group: GroupName): number {
    return (
      Atomics.load(this.views.words, I(group === 'vip' ? VIP_SPARES_READY_OFFSET : NORMAL_SPARES_READY_OFFSET)) >>> 0
    );
  }

  setSparesReady(group: GroupName, count: number): void {
    Atomics.store(this.views.words, I(group === 'vip' ? VIP_SPARES_READY_OFFSET : NORMAL_SPARES_READY_OFFSET), count);
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
   * Index (within the group) of the least-loaded normal worker: the running
   * one with the fewest pending requests; if none runs, one that will
   * (starting, restarting, retiring); -1 when no worker of the group can ever
   * answer. The rule is dispatch.ts's, shared with every caller.
   */
  findBestNormalWorker(): number {
    return this.#groupIndex(this.#leastLoaded(this.normalChannels));
  }

  findBestVipWorker(): number {
    return this.#groupIndex(this.#leastLoaded(this.vipChannels));
  }

  // Not a caller's path (callers use dispatch.ts with their own readings): this walks every ring.
  #leastLoaded(group: readonly WorkerChannel[]): number {
    return leastLoadedWorker(group, { unpublished: queuedBeyondPending(this.channels, this.slots.length) });
  }

  #groupIndex(globalIndex: number): number {
    return globalIndex < 0 ? -1 : this.channels[globalIndex]!.index;
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

  /** Monitors PROCESSING for longer than `thresholdMs` at `nowMs` (hang suspects; see recovery.ts). */
  scanHungTransactions(nowMs: number, thresholdMs: number): HungTransaction[] {
    return scanHungTransactions(this, nowMs, thresholdMs);
  }

  /** The design's name for scanHungTransactions (ScanCrashedWorkers): the same monitors. */
  scanCrashedWorkers(nowMs: number, thresholdMs: number): HungTransaction[] {
    return scanHungTransactions(this, nowMs, thresholdMs);
  }

  /**
   * Recovery after dead workers (see recovery.ts): one report per worker.
   * Takes the workers (`{ group, workerIndex }`), or, as the design's
   * RecoverCrashedWorkers does, `nowMs` and `thresholdMs`: the workers that
   * scanCrashedWorkers finds then.
   */
  recoverCrashedWorkers(
    workers: readonly { group: GroupName; workerIndex: number }[],
    options?: RecoverOptions,
  ): RecoveryReport[];
  recoverCrashedWorkers(nowMs: number, thresholdMs: number, options?: RecoverOptions): RecoveryReport[];
  recoverCrashedWorkers(
    workersOrNow: readonly { group: GroupName; workerIndex: number }[] | number,
    optionsOrThreshold?: RecoverOptions | number,
    lastOptions?: RecoverOptions,
  ): RecoveryReport[] {
    return recoverCrashedWorkers(this, workersOrNow, optionsOrThreshold, lastOptions);
  }

  recoverWorker(channel: WorkerChannel, options: RecoverOptions = {}): RecoveryReport {
    return recoverWorker(this, channel, options);
  }
}
