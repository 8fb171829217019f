// Over 400 lines on purpose: one SPSC ring is one class. The producer and the
// consumer methods share the cached indices, the record walk and the index
// validation that every cross-process read goes through; the byte layout is in
// ring-descriptor.ts, the header checks of attach() in ring-header-check.ts, and
// the option and argument checks in ring-options.ts.
import { PhoenixError } from '@phoenix-ipc/errors';
import {
  alignRecord,
  CAPACITY_OFFSET,
  CHECK_OFFSET,
  configCheck,
  DATA_BYTES_OFFSET,
  HEAD_BYTES_OFFSET,
  HEAD_COUNT_OFFSET,
  HEADER_BYTES,
  MAGIC_OFFSET,
  MAX_MESSAGE_SIZE_OFFSET,
  RECORD_HEADER_BYTES,
  RECORD_TYPE_MESSAGE,
  RECORD_TYPE_PADDING,
  RING_MAGIC,
  RING_VERSION,
  TAIL_BYTES_OFFSET,
  TAIL_COUNT_OFFSET,
  VERSION_OFFSET,
} from './ring-descriptor.js';
import { ringHeaderProblem } from './ring-header-check.js';
import {
  badRing,
  checkedOptions,
  checkRegion,
  invalid,
  notBytes,
  type RingOptions,
  type RingRegion,
} from './ring-options.js';

// i32 slots of the header, relative to the ring's own Int32Array.
const MAGIC_INDEX = MAGIC_OFFSET >> 2;
const VERSION_INDEX = VERSION_OFFSET >> 2;
const CAPACITY_INDEX = CAPACITY_OFFSET >> 2;
const MAX_MESSAGE_SIZE_INDEX = MAX_MESSAGE_SIZE_OFFSET >> 2;
const DATA_BYTES_INDEX = DATA_BYTES_OFFSET >> 2;
const CHECK_INDEX = CHECK_OFFSET >> 2;
const TAIL_BYTES_INDEX = TAIL_BYTES_OFFSET >> 2;
const TAIL_COUNT_INDEX = TAIL_COUNT_OFFSET >> 2;
const HEAD_BYTES_INDEX = HEAD_BYTES_OFFSET >> 2;
const HEAD_COUNT_INDEX = HEAD_COUNT_OFFSET >> 2;
const DATA_INDEX = HEADER_BYTES >> 2;

/**
 * A lock-free single-producer single-consumer ring of variable-length
 * messages in an ArrayBuffer or SharedArrayBuffer (a mapped segment works the
 * same). One process (or thread) produces, one consumes; all shared state is
 * in the region (layout: ring-descriptor.ts).
 *
 * Indices are free-running u32 counters. The producer publishes a record by
 * storing the tail with Atomics.store after writing it (release); the consumer
 * reads the tail with Atomics.load before reading records (acquire), and
 * frees space by storing the head after it is done with them (release),
 * which the producer reads (acquire) only when its cached copy says "full".
 *
 * The consumer never trusts the region: a record length or type that cannot
 * be, or an index that runs ahead of the other, throws ERR_PHOENIX_BAD_RING.
 */
export class SpscRingBuffer {
  /** Largest payload in bytes. */
  readonly maxMessageSize: number;
  /** Size of the data region in bytes. */
  readonly dataBytes: number;
  /** Where the ring starts in `buffer`. */
  readonly byteOffset: number;
  readonly buffer: RingRegion;
  /**
   * The data region, as bytes. A record's payload is contiguous in it (a
   * record never straddles the end), so a consumer can hand out a payload
   * as offsets into this one view instead of a view of its own.
   */
  readonly data: Uint8Array;
  /** Where the data region starts in `buffer`: a record at absolute offset `o` is at `o - dataStart` in `data`. */
  readonly dataStart: number;

  readonly #capacity: number;
  readonly #words: Int32Array; // header + data, as i32 slots
  readonly #bytes: Uint8Array; // the data region
  readonly #dataStart: number; // absolute byte offset of the data region in buffer
  readonly #mask: number;

  // Producer's private state. #tail/#tailCount include staged, unpublished records.
  #tail = 0;
  #tailCount = 0;
  #publishedTail = 0;
  #publishedTailCount = 0;
  #cachedHead = 0;
  #cachedHeadCount = 0;
  #pendingOffset = -1; // data offset of an emplaced, uncommitted record
  #pendingLength = 0; // its reserved payload length
  #tailBeforePending = 0;

  // Consumer's private state. #head/#headCount run ahead of the published head
  // by the records taken but not yet released.
  #head = 0;
  #headCount = 0;
  #cachedTail = 0;
  #peekedPayload = -1; // absolute byte offset of the peeked record's payload
  #peekedLength = 0;
  #peekedAligned = 0;
  /** What an empty ring's poll read ahead (peekRecord). */
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: written, never read: the store keeps the look-ahead load from being optimised away.
  #lookAhead = 0;

  private constructor(
    buffer: RingRegion,
    byteOffset: number,
    capacity: number,
    maxMessageSize: number,
    dataBytes: number,
  ) {
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.#capacity = capacity;
    this.maxMessageSize = maxMessageSize;
    this.dataBytes = dataBytes;
    this.#words = new Int32Array(buffer, byteOffset, (HEADER_BYTES + dataBytes) >> 2);
    this.#dataStart = byteOffset + HEADER_BYTES;
    this.#bytes = new Uint8Array(buffer, this.#dataStart, dataBytes);
    this.data = this.#bytes;
    this.dataStart = this.#dataStart;
    this.#mask = dataBytes - 1;
    this.resync();
  }

  /**
   * Maximum number of messages (a power of two). Read-only at run time too:
   * the full check relies on it, so assigning to it throws (a TypeError in
   * strict code) rather than change how the ring behaves.
   */
  get capacity(): number {
    return this.#capacity;
  }

  /** Bytes a ring with these options occupies (header + data region). */
  static requiredBytes(options: RingOptions): number {
    return HEADER_BYTES + checkedOptions(options).dataBytes;
  }

  /** Writes a fresh, empty ring at `byteOffset` and returns it. */
  static format(buffer: RingRegion, byteOffset: number, options: RingOptions): SpscRingBuffer {
    const { capacity, maxMessageSize, dataBytes } = checkedOptions(options);
    checkRegion(buffer, byteOffset, HEADER_BYTES + dataBytes, invalid);
    const words = new Int32Array(buffer, byteOffset, HEADER_BYTES >> 2);
    // Invalidate first, publish the magic last: a reader racing the format
    // sees either no ring or a complete one.
    Atomics.store(words, MAGIC_INDEX, 0);
    words.fill(0, 1);
    words[VERSION_INDEX] = RING_VERSION;
    words[CAPACITY_INDEX] = capacity;
    words[MAX_MESSAGE_SIZE_INDEX] = maxMessageSize;
    words[DATA_BYTES_INDEX] = dataBytes;
    words[CHECK_INDEX] = configCheck(capacity, maxMessageSize, dataBytes);
    Atomics.store(words, MAGIC_INDEX, RING_MAGIC);
    return new SpscRingBuffer(buffer, byteOffset, capacity, maxMessageSize, dataBytes);
  }

  /** Attaches to an existing ring, validating everything in its header. */
  static attach(buffer: RingRegion, byteOffset: number): SpscRingBuffer {
    checkRegion(buffer, byteOffset, HEADER_BYTES, badRing);
    const words = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    const problem = ringHeaderProblem(words, byteOffset, buffer.byteLength);
    if (problem !== null) throw badRing(problem);
    const base = byteOffset >> 2;
    const capacity = words[base + CAPACITY_INDEX]!;
    const maxMessageSize = words[base + MAX_MESSAGE_SIZE_INDEX]!;
    const dataBytes = words[base + DATA_BYTES_INDEX]!;
    return new SpscRingBuffer(buffer, byteOffset, capacity, maxMessageSize, dataBytes);
  }

  /**
   * Null if the ring at `byteOffset` has a header attach() would accept,
   * else what is wrong with it; nothing is allocated for a sound ring.
   * `words` is an Int32Array over the whole region, from its byte 0. For an
   * owner that looks at many rings often (the supervisor's heartbeat).
   */
  static headerProblem(words: Int32Array, byteOffset: number): string | null {
    return ringHeaderProblem(words, byteOffset);
  }

  /**
   * Re-reads both sides' indices from the region, dropping any private state
   * (staged records, taken records, the peeked record). Use it when this object
   * takes over a role another object (or a dead process) had.
   */
  resync(): void {
    const words = this.#words;
    this.#tail = this.#publishedTail = Atomics.load(words, TAIL_BYTES_INDEX) >>> 0;
    this.#tailCount = this.#publishedTailCount = Atomics.load(words, TAIL_COUNT_INDEX) >>> 0;
    this.#head = this.#cachedHead = Atomics.load(words, HEAD_BYTES_INDEX) >>> 0;
    this.#headCount = this.#cachedHeadCount = Atomics.load(words, HEAD_COUNT_INDEX) >>> 0;
    this.#cachedTail = this.#tail;
    this.#pendingOffset = -1;
    this.#peekedPayload = -1;
  }

  // ---------------------------------------------------------------- producer

  /** Copies `bytes` in as one message. False when the ring is full. */
  push(bytes: Uint8Array): boolean {
    if (!(bytes instanceof Uint8Array)) throw notBytes(bytes);
    const view = this.pushEmplace(bytes.length);
    if (view === null) return false;
    view.set(bytes);
    this.commit();
    return true;
  }

  /**
   * Reserves room for a message of `length` bytes and returns a writable view
   * into the ring (zero copy), or null when full. Nothing is visible to the
   * consumer until commit() (or stage() then flush()); abort() gives it back.
   */
  pushEmplace(length: number): Uint8Array | null {
    const offset = this.reserve(length);
    if (offset < 0) return null;
    return new Uint8Array(this.buffer, offset, length);
  }

  /**
   * pushEmplace without the view: returns the absolute byte offset in
   * `buffer` of the reserved payload, or -1 when full.
   */
  reserve(length: number): number {
    if (this.#pendingOffset >= 0)
      throw new PhoenixError('ERR_PHOENIX_INVALID_STATE', 'commit() or abort() the previous pushEmplace() first');
    this.#checkLength(length);
    const tailBefore = this.#tail;
    const offset = this.#claim(alignRecord(RECORD_HEADER_BYTES + length));
    if (offset < 0) return -1;
    this.#pendingOffset = offset;
    this.#pendingLength = length;
    this.#tailBeforePending = tailBefore;
    return this.#dataStart + offset + RECORD_HEADER_BYTES;
  }

  /** Publishes the emplaced message, optionally shortened to `length` bytes. */
  commit(length?: number): void {
    this.stage(length);
    this.flush();
  }

  /** Finishes the emplaced message without publishing it; flush() publishes every staged one at once. */
  stage(length: number = this.#pendingLength): void {
    const offset = this.#pendingOffset;
    if (offset < 0) throw new PhoenixError('ERR_PHOENIX_INVALID_STATE', 'nothing to commit: call pushEmplace() first');
    if (!Number.isInteger(length) || length < 0 || length > this.#pendingLength) {
      throw invalid(`commit length must be within 0..${this.#pendingLength}, got ${String(length)}`);
    }
    const recordLength = RECORD_HEADER_BYTES + length;
    const index = DATA_INDEX + (offset >> 2);
    this.#words[index] = recordLength;
    this.#words[index + 1] = RECORD_TYPE_MESSAGE;
    this.#tail = (this.#tail + alignRecord(recordLength)) >>> 0;
    this.#tailCount = (this.#tailCount + 1) >>> 0;
    this.#pendingOffset = -1;
  }

  /** Gives back an emplaced, uncommitted reservation. */
  abort(): void {
    if (this.#pendingOffset < 0) return;
    this.#tail = this.#tailBeforePending;
    this.#pendingOffset = -1;
  }

  /** Publishes every staged message with one store of each index. */
  flush(): void {
    if (this.#tail === this.#publishedTail) return;
    this.#publishedTail = this.#tail;
    this.#publishedTailCount = this.#tailCount;
    // Release: the records written above become visible before the tail that
    // covers them (partner: the Atomics.load of TAIL_BYTES in #peekRecord).
    // The count is a plain store: the TAIL_BYTES store after it publishes it
    // with the records, and no reader acquires through the count alone (the
    // consumer reads it after TAIL_BYTES; size() only counts). Atomics.store
    // is an xchg on x64, a full barrier a flush would pay twice. TAIL_BYTES
    // must stay one: it is also the store a producer makes before it reads
    // the consumer's PARKED word (the doorbell's handshake, doorbell-flag.ts).
    this.#words[TAIL_COUNT_INDEX] = this.#tailCount | 0;
    Atomics.store(this.#words, TAIL_BYTES_INDEX, this.#tail | 0);
  }

  /**
   * Takes over the producer role from one that died (as resync() does) and
   * publishes the records it had staged but not flushed, in order, as long
   * as `accept(payloadOffset, payloadLength)` vouches for each: the first
   * record it refuses, or that is not a well-formed record within the free
   * space, ends the walk (what lies past the published tail may be a stale
   * record of an earlier lap). Returns how many it published.
   */
  adoptStaged(accept: (payloadOffset: number, payloadLength: number) => boolean): number {
    this.resync();
    const words = this.#words;
    const dataBytes = this.dataBytes;
    let adopted = 0;
    while ((this.#tailCount - this.#cachedHeadCount) >>> 0 < this.#capacity) {
      const free = dataBytes - ((this.#tail - this.#cachedHead) >>> 0);
      let offset = this.#tail & this.#mask;
      let skipped = 0;
      if (words[DATA_INDEX + (offset >> 2) + 1] === RECORD_TYPE_PADDING) {
        skipped = dataBytes - offset;
        if (words[DATA_INDEX + (offset >> 2)] !== skipped) break;
        offset = 0;
      }
      const length = words[DATA_INDEX + (offset >> 2)]!;
      if (words[DATA_INDEX + (offset >> 2) + 1] !== RECORD_TYPE_MESSAGE) break;
      if (length < RECORD_HEADER_BYTES || length > RECORD_HEADER_BYTES + this.maxMessageSize) break;
      const aligned = alignRecord(length);
      if (offset + aligned > dataBytes || skipped + aligned > free) break;
      if (!accept(this.#dataStart + offset + RECORD_HEADER_BYTES, length - RECORD_HEADER_BYTES)) break;
      this.#tail = (this.#tail + skipped + aligned) >>> 0;
      this.#tailCount = (this.#tailCount + 1) >>> 0;
      adopted++;
    }
    this.flush();
    return adopted;
  }

  /** Publishes the longest prefix of `messages` that fits, with one index store; returns its length. */
  pushBatch(messages: readonly Uint8Array[]): number {
    // Every message checked before any is written: a bad one leaves nothing staged.
    if (!Array.isArray(messages)) throw invalid('pushBatch takes an array of Uint8Array messages');
    for (const message of messages) {
      if (!(message instanceof Uint8Array)) throw notBytes(message);
      if (message.length > this.maxMessageSize) {
        throw new PhoenixError(
          'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
          `message of ${message.length} bytes exceeds maxMessageSize ${this.maxMessageSize}`,
        );
      }
    }
    let pushed = 0;
    for (const message of messages) {
      const offset = this.reserve(message.length);
      if (offset < 0) break;
      this.#bytes.set(message, offset - this.#dataStart);
      this.stage();
      pushed++;
    }
    this.flush();
    return pushed;
  }

  /** Messages produced by this object so far (free-running u32), staged ones included. */
  get producedCount(): number {
    return this.#tailCount;
  }

  /** Whether a staged message awaits flush(). */
  get hasUnpublished(): boolean {
    return this.#tail !== this.#publishedTail;
  }

  /**
   * Whether reserve(length) would find room now, without reserving it: for a
   * producer that must not spin on a full ring but wait until its consumer
   * makes room (a worker whose caller stopped reading). Throws as reserve()
   * does for a bad length or a corrupt consumer index.
   */
  canReserve(length: number): boolean {
    this.#checkLength(length);
    return this.#fits(alignRecord(RECORD_HEADER_BYTES + length));
  }

  #checkLength(length: number): void {
    if (!Number.isInteger(length) || length < 0)
      throw invalid(`message length must be a non-negative integer, got ${String(length)}`);
    if (length > this.maxMessageSize) {
      throw new PhoenixError(
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `message of ${length} bytes exceeds maxMessageSize ${this.maxMessageSize}`,
      );
    }
  }

  // Whether a record of `recordLength` bytes fits at the tail now, padding to
  // the end included when it would straddle it. Loads the consumer's indices
  // only when the cached ones say no.
  #fits(recordLength: number): boolean {
    const capacity = this.#capacity;
    if ((this.#tailCount - this.#cachedHeadCount) >>> 0 >= capacity) {
      // Acquire; partner: the Atomics.store of HEAD_COUNT in release().
      this.#cachedHeadCount = Atomics.load(this.#words, HEAD_COUNT_INDEX) >>> 0;
      const used = (this.#tailCount - this.#cachedHeadCount) >>> 0;
      if (used > capacity)
        throw badRing(`consumer count ${this.#cachedHeadCount} runs ahead of producer count ${this.#tailCount}`);
      if (used === capacity) return false;
    }
    const dataBytes = this.dataBytes;
    const toEnd = dataBytes - (this.#tail & this.#mask);
    const required = recordLength <= toEnd ? recordLength : toEnd + recordLength;
    if (((this.#tail - this.#cachedHead) >>> 0) + required > dataBytes) {
      // Acquire; partner: the Atomics.store of HEAD_BYTES in release().
      this.#cachedHead = Atomics.load(this.#words, HEAD_BYTES_INDEX) >>> 0;
      const used = (this.#tail - this.#cachedHead) >>> 0;
      if (used > dataBytes)
        throw badRing(`consumer index ${this.#cachedHead} runs ahead of producer index ${this.#tail}`);
      if (used + required > dataBytes) return false;
    }
    return true;
  }

  // Returns the data offset of a free record of `recordLength` bytes, writing a
  // padding record first if it would straddle the end; -1 when full.
  #claim(recordLength: number): number {
    if (!this.#fits(recordLength)) return -1;
    let offset = this.#tail & this.#mask;
    const toEnd = this.dataBytes - offset;
    if (recordLength > toEnd) {
      const index = DATA_INDEX + (offset >> 2);
      this.#words[index] = toEnd;
      this.#words[index + 1] = RECORD_TYPE_PADDING;
      this.#tail = (this.#tail + toEnd) >>> 0;
      offset = 0;
    }
    return offset;
  }

  // ---------------------------------------------------------------- consumer

  /** A zero-copy view of the oldest message, valid until pop(); null when empty. */
  peek(): Uint8Array | null {
    const payload = this.peekRecord();
    return payload < 0 ? null : new Uint8Array(this.buffer, payload, this.#peekedLength);
  }

  /**
   * peek() without the view: the absolute byte offset in `buffer` of the next
   * message's payload (its length is `peekedLength`), or -1 when empty.
   */
  peekRecord(): number {
    if (this.#peekedPayload >= 0) return this.#peekedPayload;
    const words = this.#words;
    const dataBytes = this.dataBytes;
    for (;;) {
      let available = (this.#cachedTail - this.#head) >>> 0;
      if (available === 0) {
        // Acquire; partner: the Atomics.store of TAIL_BYTES in flush().
        this.#cachedTail = Atomics.load(words, TAIL_BYTES_INDEX) >>> 0;
        available = (this.#cachedTail - this.#head) >>> 0;
        if (available === 0) {
          // Also load the first word of the next record's place (its value is not used). The two loads are
          // independent, so the poll that finds the tail moved fetches both lines at once, where reading the
          // record after the tail said it is there pays a second line transfer in turn (~0.1 µs of a 16 B
          // round trip on 2 vCPUs; docs/benchmarks.md). Free space: harmless to read.
          this.#lookAhead = words[DATA_INDEX + ((this.#head & this.#mask) >> 2)]!;
          return -1;
        }
        const count = (Atomics.load(words, TAIL_COUNT_INDEX) - this.#headCount) >>> 0;
        if (available > dataBytes || (available & 7) !== 0 || count > this.#capacity) {
          throw badRing(
            `producer index ${this.#cachedTail} (count ${Atomics.load(words, TAIL_COUNT_INDEX) >>> 0}) is not a valid distance ahead of consumer index ${this.#head} (count ${this.#headCount})`,
          );
        }
      }
      const offset = this.#head & this.#mask;
      const index = DATA_INDEX + (offset >> 2);
      const length = words[index]!;
      const type = words[index + 1]!;
      if (type === RECORD_TYPE_PADDING) {
        const gap = dataBytes - offset;
        if (length !== gap || gap > available) {
          throw badRing(
            `padding record of ${length} bytes at ${offset} should fill the ${gap} bytes to the end (${available} available)`,
          );
        }
        this.#head = (this.#head + gap) >>> 0;
        continue;
      }
      if (type !== RECORD_TYPE_MESSAGE) throw badRing(`unknown record type ${type} at data offset ${offset}`);
      if (length < RECORD_HEADER_BYTES || length > RECORD_HEADER_BYTES + this.maxMessageSize) {
        throw badRing(
          `record length ${length} at data offset ${offset} is outside 8..${RECORD_HEADER_BYTES + this.maxMessageSize}`,
        );
      }
      const aligned = alignRecord(length);
      if (aligned > available || offset + aligned > dataBytes) {
        throw badRing(
          `record of ${length} bytes at data offset ${offset} runs past the published data (${available} bytes) or the region`,
        );
      }
      this.#peekedLength = length - RECORD_HEADER_BYTES;
      this.#peekedAligned = aligned;
      this.#peekedPayload = this.#dataStart + offset + RECORD_HEADER_BYTES;
      return this.#peekedPayload;
    }
  }

  /** Payload length of the message peekRecord() found. */
  get peekedLength(): number {
    return this.#peekedLength;
  }

  /** Removes the oldest message. False when empty. */
  pop(): boolean {
    if (this.peekRecord() < 0) return false;
    this.take();
    this.release();
    return true;
  }

  /**
   * Moves past the peeked message without freeing its space: its view stays
   * valid until release(). Lets a consumer work on several messages at once
   * and free them in order.
   */
  take(): void {
    if (this.#peekedPayload < 0) throw new PhoenixError('ERR_PHOENIX_INVALID_STATE', 'take() needs a peeked record');
    this.#head = (this.#head + this.#peekedAligned) >>> 0;
    this.#headCount = (this.#headCount + 1) >>> 0;
    this.#peekedPayload = -1;
  }

  /** Frees every taken message with one store of each index. */
  release(): void {
    this.releaseTo(this.#head, this.#headCount);
  }

  /** Frees taken messages up to a position earlier returned by `readPosition` (in-order partial release). */
  releaseTo(headBytes: number, headCount: number): void {
    // Release; partner: the producer's Atomics.load of HEAD_* in #claim.
    // Our reads of the records happen before the store that lets them be overwritten.
    Atomics.store(this.#words, HEAD_BYTES_INDEX, headBytes | 0);
    Atomics.store(this.#words, HEAD_COUNT_INDEX, headCount | 0);
  }

  /** The consumer's private read position after the messages taken so far. */
  get readPositionBytes(): number {
    return this.#head;
  }

  get readPositionCount(): number {
    return this.#headCount;
  }

  /**
   * Calls `fn` for up to `max` messages, oldest first; the views are valid
   * during the call. All of them are released with one index store at the end
   * (also when `fn` throws: the message it threw on counts as consumed).
   */
  popBatch(max: number, fn: (view: Uint8Array, index: number) => void): number {
    // Checked before anything is taken: a call that cannot deliver must not consume.
    if (typeof fn !== 'function') throw invalid('popBatch needs a callback (view, index) => void');
    if (typeof max !== 'number' || Number.isNaN(max)) throw invalid(`max must be a number, got ${String(max)}`);
    let count = 0;
    try {
      while (count < max) {
        const payload = this.peekRecord();
        if (payload < 0) break;
        const view = new Uint8Array(this.buffer, payload, this.#peekedLength);
        this.take();
        fn(view, count);
        count++;
      }
    } finally {
      this.release();
    }
    return count;
  }

  /** Skips up to `count` messages without reading them (crash recovery); returns how many it skipped. */
  forceAdvanceReadIndex(count: number): number {
    if (!Number.isInteger(count) || count < 0)
      throw invalid(`count must be a non-negative integer, got ${String(count)}`);
    let skipped = 0;
    while (skipped < count && this.peekRecord() >= 0) {
      this.take();
      skipped++;
    }
    this.release();
    return skipped;
  }

  // ---------------------------------------------------------------- either side

  /** Messages in the ring, as published by both sides. */
  size(): number {
    // Head first: read the other way, an observer could see the consumer pass
    // the tail it read a moment before, and report a full ring.
    const headCount = Atomics.load(this.#words, HEAD_COUNT_INDEX);
    const tailCount = Atomics.load(this.#words, TAIL_COUNT_INDEX);
    return Math.min((tailCount - headCount) >>> 0, this.#capacity);
  }

  empty(): boolean {
    return this.size() === 0;
  }

  /** No room for another message by count (bytes may run out earlier for large messages). */
  full(): boolean {
    return this.size() >= this.#capacity;
  }

  /** Room left, in messages. */
  freeSpace(): number {
    return this.#capacity - this.size();
  }

  /** Published byte indices, for inspection tools. */
  indices(): { headBytes: number; tailBytes: number; headCount: number; tailCount: number } {
    return {
      headBytes: Atomics.load(this.#words, HEAD_BYTES_INDEX) >>> 0,
      tailBytes: Atomics.load(this.#words, TAIL_BYTES_INDEX) >>> 0,
      headCount: Atomics.load(this.#words, HEAD_COUNT_INDEX) >>> 0,
      tailCount: Atomics.load(this.#words, TAIL_COUNT_INDEX) >>> 0,
    };
  }

  /** Published consumer count: messages the consumer has released (free-running u32). */
  consumedCount(): number {
    return Atomics.load(this.#words, HEAD_COUNT_INDEX) >>> 0;
  }
}
