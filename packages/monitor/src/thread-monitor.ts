import { PhoenixError } from '@phoenix-ipc/ringbuffer';
import {
  ATTEMPT_OFFSET,
  FAILED_OFFSET,
  FUNC_ID_OFFSET,
  GROUP_ID_OFFSET,
  GROUP_NORMAL,
  GROUP_VIP,
  MAGIC_OFFSET,
  MONITOR_ALIGNMENT,
  MONITOR_BYTES,
  MONITOR_MAGIC,
  MONITOR_STATE_IDLE,
  MONITOR_STATE_PROCESSING,
  PROCESSED_OFFSET,
  REPLY_MARK_OFFSET,
  RING_POSITION_OFFSET,
  SEQ_ID_HIGH_OFFSET,
  SEQ_ID_LOW_OFFSET,
  SLOT_OFFSET,
  START_TIMESTAMP_OFFSET,
  STATE_OFFSET,
  TRANSACTION_OFFSET,
  WORKER_INDEX_OFFSET,
} from './monitor-descriptor.js';
import { monotonicNowMs } from './monotonic-clock.js';

const STATE_INDEX = STATE_OFFSET >> 2;
const TRANSACTION_INDEX = TRANSACTION_OFFSET >> 2;
const GROUP_ID_INDEX = GROUP_ID_OFFSET >> 2;
const WORKER_INDEX_INDEX = WORKER_INDEX_OFFSET >> 2;
const SEQ_ID_LOW_INDEX = SEQ_ID_LOW_OFFSET >> 2;
const SEQ_ID_HIGH_INDEX = SEQ_ID_HIGH_OFFSET >> 2;
const START_TIMESTAMP_INDEX = START_TIMESTAMP_OFFSET >> 3;
const SLOT_INDEX = SLOT_OFFSET >> 2;
const RING_POSITION_INDEX = RING_POSITION_OFFSET >> 2;
const FUNC_ID_INDEX = FUNC_ID_OFFSET >> 2;
const ATTEMPT_INDEX = ATTEMPT_OFFSET >> 2;
const PROCESSED_INDEX = PROCESSED_OFFSET >> 2;
const FAILED_INDEX = FAILED_OFFSET >> 2;
const MAGIC_INDEX = MAGIC_OFFSET >> 2;
const REPLY_MARK_INDEX = REPLY_MARK_OFFSET >> 2;

const TWO_POW_32 = 2 ** 32;

export type MonitorRegion = ArrayBuffer | SharedArrayBuffer;

/** Everything a monitor record says, read consistently. */
export interface MonitorSnapshot {
  processing: boolean;
  transaction: number;
  seqId: number;
  groupId: number;
  workerIndex: number;
  startTimestamp: number;
  /** The caller slot the request came from (-1 when none). */
  slot: number;
  ringPosition: number;
  funcId: number;
  attempt: number;
  processed: number;
  failed: number;
  /** See setReplyMark. */
  replyMark: number;
}

function badMonitor(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_BAD_MONITOR', message);
}

function invalidArgument(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

/** The fields a record keeps, checked where a caller passes them (attach() checks them too: a bad one bricks it). */
function checkGroupAndIndex(groupId: unknown, workerIndex: unknown): void {
  if (groupId !== GROUP_NORMAL && groupId !== GROUP_VIP)
    throw invalidArgument(`groupId must be ${GROUP_NORMAL} (normal) or ${GROUP_VIP} (VIP), got ${String(groupId)}`);
  if (!Number.isInteger(workerIndex) || (workerIndex as number) < 0 || (workerIndex as number) > 0x7fffffff)
    throw invalidArgument(`workerIndex must be a non-negative integer, got ${String(workerIndex)}`);
}

function checkRegion(buffer: MonitorRegion, byteOffset: number): void {
  const isBuffer =
    buffer instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer);
  if (!isBuffer) throw invalidArgument('buffer must be an ArrayBuffer or SharedArrayBuffer');
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % MONITOR_ALIGNMENT !== 0) {
    throw new PhoenixError(
      'ERR_PHOENIX_INVALID_ARGUMENT',
      `monitor offset must be a non-negative multiple of ${MONITOR_ALIGNMENT}, got ${String(byteOffset)}`,
    );
  }
  if (byteOffset + MONITOR_BYTES > buffer.byteLength) {
    throw badMonitor(`monitor at ${byteOffset} runs past the region end ${buffer.byteLength}`);
  }
}

/**
 * A worker's transaction record in shared memory (layout: monitor-descriptor.ts).
 * The worker calls beginTransaction before it runs a request and
 * endTransaction after its reply is published; a record left PROCESSING
 * means the worker crashed or hangs on that request, and its fields say
 * exactly which request that is (slot + ring position + seq id).
 *
 * Timestamps are CLOCK_MONOTONIC milliseconds (see monotonicNowMs), the same
 * in every process.
 */
/** beginTransaction's timestamp on its way to beginTransactionAt. */
const startScratch = new Float64Array(1);

export class ThreadMonitor {
  static readonly BYTES = MONITOR_BYTES;
  readonly byteOffset: number;
  readonly #words: Int32Array;
  readonly #doubles: Float64Array;

  private constructor(buffer: MonitorRegion, byteOffset: number) {
    this.byteOffset = byteOffset;
    this.#words = new Int32Array(buffer, byteOffset, MONITOR_BYTES >> 2);
    this.#doubles = new Float64Array(buffer, byteOffset, MONITOR_BYTES >> 3);
  }

  /** Writes a fresh IDLE record (counters zero) at `byteOffset` (64-byte aligned). */
  static format(
    buffer: MonitorRegion,
    byteOffset: number,
    groupId: number = GROUP_NORMAL,
    workerIndex = 0,
  ): ThreadMonitor {
    checkRegion(buffer, byteOffset);
    checkGroupAndIndex(groupId, workerIndex);
    const monitor = new ThreadMonitor(buffer, byteOffset);
    const words = monitor.#words;
    Atomics.store(words, MAGIC_INDEX, 0);
    words.fill(0);
    words[GROUP_ID_INDEX] = groupId;
    words[WORKER_INDEX_INDEX] = workerIndex;
    words[SLOT_INDEX] = -1;
    Atomics.store(words, MAGIC_INDEX, MONITOR_MAGIC);
    return monitor;
  }

  /** Attaches to an existing record, checking its magic and state word. */
  static attach(buffer: MonitorRegion, byteOffset: number): ThreadMonitor {
    checkRegion(buffer, byteOffset);
    const monitor = new ThreadMonitor(buffer, byteOffset);
    const magic = Atomics.load(monitor.#words, MAGIC_INDEX);
    if (magic !== MONITOR_MAGIC) {
      throw badMonitor(
        `bad monitor magic 0x${(magic >>> 0).toString(16)} at ${byteOffset}, expected 0x${MONITOR_MAGIC.toString(16)}`,
      );
    }
    monitor.validate();
    return monitor;
  }

  /** Whether attach() would accept this record now (magic and validate()), without allocating. */
  intact(): boolean {
    if (Atomics.load(this.#words, MAGIC_INDEX) !== MONITOR_MAGIC) return false;
    try {
      this.validate();
      return true;
    } catch {
      return false;
    }
  }

  /** Throws ERR_PHOENIX_BAD_MONITOR if the record holds values no worker writes. */
  validate(): void {
    const words = this.#words;
    const state = Atomics.load(words, STATE_INDEX);
    if (state !== MONITOR_STATE_IDLE && state !== MONITOR_STATE_PROCESSING)
      throw badMonitor(`monitor state ${state} is neither IDLE nor PROCESSING`);
    const group = words[GROUP_ID_INDEX]!;
    if (group !== GROUP_NORMAL && group !== GROUP_VIP)
      throw badMonitor(`monitor group id ${group} is neither ${GROUP_NORMAL} (normal) nor ${GROUP_VIP} (VIP)`);
    if (words[WORKER_INDEX_INDEX]! < 0)
      throw badMonitor(`monitor worker index ${words[WORKER_INDEX_INDEX]} is negative`);
    const high = words[SEQ_ID_HIGH_INDEX]!;
    if (high < 0 || high >= 1 << 21) throw badMonitor(`monitor seq id high word ${high} is beyond 2^53`);
  }

  /**
   * Marks the start of a request. The fields are written first and the state
   * last (release; partner: the Atomics.load of STATE in isProcessing/snapshot),
   * so a reader that sees PROCESSING sees the request it belongs to.
   */
  beginTransaction(
    seqId: number,
    groupId: number,
    workerIndex: number,
    slot = -1,
    ringPosition = 0,
    funcId = 0,
    attempt = 1,
    startTimestamp = monotonicNowMs(),
  ): void {
    // The hot path (a worker's every request) is beginTransactionAt, with values it read from shared memory.
    if (!Number.isSafeInteger(seqId) || seqId < 1)
      throw invalidArgument(`seqId must be a positive safe integer (0 is kInvalidSeqId), got ${String(seqId)}`);
    checkGroupAndIndex(groupId, workerIndex);
    if (!Number.isInteger(slot) || slot < -1)
      throw invalidArgument(`slot must be -1 (none) or a slot index, got ${String(slot)}`);
    if (!Number.isInteger(attempt) || attempt < 1)
      throw invalidArgument(`attempt must be 1 or more, got ${String(attempt)}`);
    startScratch[0] = startTimestamp;
    this.beginTransactionAt(seqId, groupId, workerIndex, slot, ringPosition, funcId, attempt, startScratch, 0);
  }

  /**
   * beginTransaction with the start timestamp read from `times[index]`: a
   * double passed as an argument becomes a heap number wherever the call is
   * not inlined, and a worker begins a transaction for every request.
   */
  beginTransactionAt(
    seqId: number,
    groupId: number,
    workerIndex: number,
    slot: number,
    ringPosition: number,
    funcId: number,
    attempt: number,
    times: Float64Array,
    index: number,
  ): void {
    const words = this.#words;
    words[TRANSACTION_INDEX] = (words[TRANSACTION_INDEX]! + 1) | 0;
    words[GROUP_ID_INDEX] = groupId;
    words[WORKER_INDEX_INDEX] = workerIndex;
    words[SEQ_ID_LOW_INDEX] = seqId >>> 0;
    words[SEQ_ID_HIGH_INDEX] = (seqId / TWO_POW_32) | 0;
    this.#doubles[START_TIMESTAMP_INDEX] = times[index]!;
    words[SLOT_INDEX] = slot;
    words[RING_POSITION_INDEX] = ringPosition | 0;
    words[FUNC_ID_INDEX] = funcId | 0;
    words[ATTEMPT_INDEX] = attempt;
    Atomics.store(words, STATE_INDEX, MONITOR_STATE_PROCESSING);
  }

  /**
   * Records the message count of the response ring the reply will go to,
   * before beginTransaction: if the worker dies, a published count beyond it
   * tells recovery that the reply went out (the request is not a poison).
   */
  setReplyMark(count: number): void {
    this.#words[REPLY_MARK_INDEX] = count | 0;
  }

  getReplyMark(): number {
    return this.#words[REPLY_MARK_INDEX]! >>> 0;
  }

  /** Marks the request done (its reply is published); counts it as processed or failed. */
  endTransaction(failed = false): void {
    const words = this.#words;
    Atomics.store(words, STATE_INDEX, MONITOR_STATE_IDLE);
    if (failed) words[FAILED_INDEX] = (words[FAILED_INDEX]! + 1) | 0;
    else words[PROCESSED_INDEX] = (words[PROCESSED_INDEX]! + 1) | 0;
  }

  /**
   * Restores the fields attach() checks (magic, group, index, a valid state
   * word) after a broken peer wrote over them, keeping the counters. The
   * owner of the segment calls it; a record under repair reads as IDLE.
   */
  repair(groupId: number, workerIndex: number): void {
    const words = this.#words;
    const state = Atomics.load(words, STATE_INDEX);
    if (state !== MONITOR_STATE_IDLE && state !== MONITOR_STATE_PROCESSING)
      Atomics.store(words, STATE_INDEX, MONITOR_STATE_IDLE);
    words[GROUP_ID_INDEX] = groupId;
    words[WORKER_INDEX_INDEX] = workerIndex;
    const high = words[SEQ_ID_HIGH_INDEX]!;
    if (high < 0 || high >= 1 << 21) words[SEQ_ID_HIGH_INDEX] = 0;
    Atomics.store(words, MAGIC_INDEX, MONITOR_MAGIC);
  }

  /** Back to IDLE with no request, keeping the counters (the supervisor's cleanup after a crash). */
  reset(): void {
    const words = this.#words;
    Atomics.store(words, STATE_INDEX, MONITOR_STATE_IDLE);
    words[SEQ_ID_LOW_INDEX] = 0;
    words[SEQ_ID_HIGH_INDEX] = 0;
    words[SLOT_INDEX] = -1;
    this.#doubles[START_TIMESTAMP_INDEX] = 0;
  }

  isProcessing(): boolean {
    return Atomics.load(this.#words, STATE_INDEX) === MONITOR_STATE_PROCESSING;
  }

  /** Seq id of the request in progress; 0 (kInvalidSeqId) when idle. */
  getProcessingSeq(): number {
    if (!this.isProcessing()) return 0;
    return this.#seqId();
  }

  getGroupId(): number {
    return this.#words[GROUP_ID_INDEX]!;
  }

  getWorkerIndex(): number {
    return this.#words[WORKER_INDEX_INDEX]!;
  }

  /** CLOCK_MONOTONIC ms at which the current (or last) transaction began. */
  getStartTimestamp(): number {
    return this.#doubles[START_TIMESTAMP_INDEX]!;
  }

  /** The caller slot of the current (or last) transaction; -1 when none. */
  getSlot(): number {
    return this.#words[SLOT_INDEX]!;
  }

  getRingPosition(): number {
    return this.#words[RING_POSITION_INDEX]! >>> 0;
  }

  getFuncId(): number {
    return this.#words[FUNC_ID_INDEX]! >>> 0;
  }

  getAttempt(): number {
    return this.#words[ATTEMPT_INDEX]!;
  }

  getTransaction(): number {
    return this.#words[TRANSACTION_INDEX]! >>> 0;
  }

  getProcessed(): number {
    return this.#words[PROCESSED_INDEX]! >>> 0;
  }

  getFailed(): number {
    return this.#words[FAILED_INDEX]! >>> 0;
  }

  /** Adds to the processed/failed counters without a transaction (e.g. requests answered without running). */
  count(failed: boolean): void {
    const index = failed ? FAILED_INDEX : PROCESSED_INDEX;
    this.#words[index] = (this.#words[index]! + 1) | 0;
  }

  /**
   * All fields, read consistently with the worker's writes: the transaction
   * counter is read before and after, and the read retried if a new
   * transaction began in between. If one begins during every retry, the
   * fields may mix two transactions, so the snapshot says not processing:
   * a worker that keeps starting new requests is not stuck on any of them.
   */
  snapshot(): MonitorSnapshot {
    const words = this.#words;
    for (let tries = 0; ; tries++) {
      const before = Atomics.load(words, TRANSACTION_INDEX);
      const processing = Atomics.load(words, STATE_INDEX) === MONITOR_STATE_PROCESSING;
      const snapshot: MonitorSnapshot = {
        processing,
        transaction: before >>> 0,
        seqId: this.#seqId(),
        groupId: words[GROUP_ID_INDEX]!,
        workerIndex: words[WORKER_INDEX_INDEX]!,
        startTimestamp: this.#doubles[START_TIMESTAMP_INDEX]!,
        slot: words[SLOT_INDEX]!,
        ringPosition: words[RING_POSITION_INDEX]! >>> 0,
        funcId: words[FUNC_ID_INDEX]! >>> 0,
        attempt: words[ATTEMPT_INDEX]!,
        processed: words[PROCESSED_INDEX]! >>> 0,
        failed: words[FAILED_INDEX]! >>> 0,
        replyMark: words[REPLY_MARK_INDEX]! >>> 0,
      };
      if (Atomics.load(words, TRANSACTION_INDEX) === before) return snapshot;
      if (tries >= 16) {
        snapshot.processing = false;
        return snapshot;
      }
    }
  }

  #seqId(): number {
    const words = this.#words;
    return (words[SEQ_ID_HIGH_INDEX]! >>> 0) * TWO_POW_32 + (words[SEQ_ID_LOW_INDEX]! >>> 0);
  }
}
