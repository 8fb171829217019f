import { GROUP_NORMAL, GROUP_VIP, type MonitorRegion, ThreadMonitor } from '@phoenix-ipc/monitor';
import { PhoenixError, SpscRingBuffer } from '@phoenix-ipc/ringbuffer';
import {
  WORKER_CRASHES_OFFSET,
  WORKER_GENERATION_OFFSET,
  WORKER_GROUP_OFFSET,
  WORKER_INDEX_OFFSET,
  WORKER_MONITORS_OFFSET,
  WORKER_PARKED_OFFSET,
  WORKER_PENDING_OFFSET,
  WORKER_PID_OFFSET,
  WORKER_PID_START_TIME_OFFSET,
  WORKER_RESTART_AT_OFFSET,
  WORKER_RESTARTS_OFFSET,
  WORKER_STATE_OFFSET,
  type WorkerState,
} from './worker-record.js';

export type GroupName = 'normal' | 'vip';

/** Where a worker's rings are: computed by the layout. */
export interface ChannelGeometry {
  recordOffset: number;
  concurrency: number;
  /** Byte offset of this worker's ring pair in slot 0; slot s adds s * slotStride. */
  firstPairOffset: number;
  slotStride: number;
  ringBytes: number;
  totalSlots: number;
}

/**
 * One worker's view of the segment: its record (state, pid, load, doorbell
 * flag), its monitors, and for every caller slot the request ring it
 * consumes and the response ring it produces.
 *
 * Ring objects carry private cursor state, so each process uses its own
 * WorkerChannel, and a process that takes over a ring role from a dead one
 * calls `resync()` on it (or uses the attach* methods for fresh objects).
 */
export class WorkerChannel {
  readonly group: GroupName;
  readonly groupId: typeof GROUP_NORMAL | typeof GROUP_VIP;
  /** 0-based within its group. */
  readonly index: number;
  /** Position among all workers (normal first, then VIP); indexes slot ack/outstanding arrays. */
  readonly globalIndex: number;
  readonly monitors: readonly ThreadMonitor[];
  readonly #buffer: MonitorRegion;
  readonly #words: Int32Array;
  readonly #doubles: Float64Array;
  readonly #base: number; // i32 index of the record
  readonly #geometry: ChannelGeometry;
  readonly #requestRings: (SpscRingBuffer | undefined)[];
  readonly #responseRings: (SpscRingBuffer | undefined)[];

  constructor(
    buffer: MonitorRegion,
    words: Int32Array,
    doubles: Float64Array,
    group: GroupName,
    index: number,
    globalIndex: number,
    geometry: ChannelGeometry,
    monitors: ThreadMonitor[],
  ) {
    this.group = group;
    this.groupId = group === 'normal' ? GROUP_NORMAL : GROUP_VIP;
    this.index = index;
    this.globalIndex = globalIndex;
    this.#buffer = buffer;
    this.#words = words;
    this.#doubles = doubles;
    this.#base = geometry.recordOffset >> 2;
    this.#geometry = geometry;
    this.monitors = monitors;
    this.#requestRings = new Array(geometry.totalSlots);
    this.#responseRings = new Array(geometry.totalSlots);
  }

  /** Byte offsets of this worker's request and response rings for a caller slot. */
  requestRingOffset(slot: number): number {
    this.#checkSlot(slot);
    return this.#geometry.firstPairOffset + slot * this.#geometry.slotStride;
  }

  responseRingOffset(slot: number): number {
    return this.requestRingOffset(slot) + this.#geometry.ringBytes;
  }

  /** This process's object for the request ring of `slot` (attached and validated on first use). */
  requestRing(slot: number): SpscRingBuffer {
    let ring = this.#requestRings[slot];
    if (ring === undefined) {
      ring = SpscRingBuffer.attach(this.#buffer, this.requestRingOffset(slot));
      this.#requestRings[slot] = ring;
    }
    return ring;
  }

  responseRing(slot: number): SpscRingBuffer {
    let ring = this.#responseRings[slot];
    if (ring === undefined) {
      ring = SpscRingBuffer.attach(this.#buffer, this.responseRingOffset(slot));
      this.#responseRings[slot] = ring;
    }
    return ring;
  }

  /** A new, uncached object for the request ring of `slot`: for a party taking over a role (recovery). */
  attachRequestRing(slot: number): SpscRingBuffer {
    return SpscRingBuffer.attach(this.#buffer, this.requestRingOffset(slot));
  }

  attachResponseRing(slot: number): SpscRingBuffer {
    return SpscRingBuffer.attach(this.#buffer, this.responseRingOffset(slot));
  }

  /**
   * Null if both rings of `slot` have headers attach() accepts, else what is
   * wrong with the first that does not. Nothing is allocated for sound rings:
   * the supervisor looks at every active channel on each heartbeat.
   */
  ringHeaderProblem(slot: number): string | null {
    return (
      SpscRingBuffer.headerProblem(this.#words, this.requestRingOffset(slot)) ??
      SpscRingBuffer.headerProblem(this.#words, this.responseRingOffset(slot))
    );
  }

  /** Drops this process's cached ring objects for `slot` (after the supervisor reformats it). */
  forgetRings(slot: number): void {
    this.#requestRings[slot] = undefined;
    this.#responseRings[slot] = undefined;
  }

  get monitor(): ThreadMonitor {
    return this.monitors[0]!;
  }

  // Record fields. The supervisor writes state/pid/generation/crashes/restarts;
  // callers add to pending; the worker writes parked.

  get state(): WorkerState {
    return Atomics.load(this.#words, this.#base + (WORKER_STATE_OFFSET >> 2)) as WorkerState;
  }

  set state(value: WorkerState) {
    Atomics.store(this.#words, this.#base + (WORKER_STATE_OFFSET >> 2), value);
  }

  get pid(): number {
    return Atomics.load(this.#words, this.#base + (WORKER_PID_OFFSET >> 2));
  }

  set pid(value: number) {
    Atomics.store(this.#words, this.#base + (WORKER_PID_OFFSET >> 2), value);
  }

  get generation(): number {
    return Atomics.load(this.#words, this.#base + (WORKER_GENERATION_OFFSET >> 2));
  }

  set generation(value: number) {
    Atomics.store(this.#words, this.#base + (WORKER_GENERATION_OFFSET >> 2), value);
  }

  get crashes(): number {
    return Atomics.load(this.#words, this.#base + (WORKER_CRASHES_OFFSET >> 2));
  }

  set crashes(value: number) {
    Atomics.store(this.#words, this.#base + (WORKER_CRASHES_OFFSET >> 2), value);
  }

  get restarts(): number {
    return Atomics.load(this.#words, this.#base + (WORKER_RESTARTS_OFFSET >> 2));
  }

  set restarts(value: number) {
    Atomics.store(this.#words, this.#base + (WORKER_RESTARTS_OFFSET >> 2), value);
  }

  get recordedGroupId(): number {
    return this.#words[this.#base + (WORKER_GROUP_OFFSET >> 2)]!;
  }

  get recordedIndex(): number {
    return this.#words[this.#base + (WORKER_INDEX_OFFSET >> 2)]!;
  }

  /** CLOCK_MONOTONIC ms at which a backoff restart is due (0: none scheduled). */
  get restartAt(): number {
    return this.#doubles[(this.#geometry.recordOffset + WORKER_RESTART_AT_OFFSET) >> 3]!;
  }

  set restartAt(value: number) {
    this.#doubles[(this.#geometry.recordOffset + WORKER_RESTART_AT_OFFSET) >> 3] = value;
  }

  get pidStartTime(): number {
    return this.#doubles[(this.#geometry.recordOffset + WORKER_PID_START_TIME_OFFSET) >> 3]!;
  }

  set pidStartTime(value: number) {
    this.#doubles[(this.#geometry.recordOffset + WORKER_PID_START_TIME_OFFSET) >> 3] = value;
  }

  /** i32 index of the PENDING counter (callers Atomics.add / sub on it). */
  get pendingIndex(): number {
    return this.#base + (WORKER_PENDING_OFFSET >> 2);
  }

  /** Requests sent to this worker and not yet answered, summed over callers. */
  get pending(): number {
    return Math.max(0, Atomics.load(this.#words, this.pendingIndex));
  }

  /** i32 index of the PARKED doorbell flag. */
  get parkedIndex(): number {
    return this.#base + (WORKER_PARKED_OFFSET >> 2);
  }

  /** Byte offset of monitor `lane`. */
  monitorOffset(lane: number): number {
    return this.#geometry.recordOffset + WORKER_MONITORS_OFFSET + lane * ThreadMonitor.BYTES;
  }

  #checkSlot(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.#geometry.totalSlots) {
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        `slot ${String(slot)} is outside 0..${this.#geometry.totalSlots - 1}`,
      );
    }
  }
}
