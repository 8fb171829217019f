/**
 * Two SPSC rings of fixed slots in one SharedArrayBuffer, for the raw JS
 * limit (two threads, no library in the way). The descriptor:
 *
 *   byte 0     REQUEST_HEAD     (own 64-byte line)  consumer: echo thread
 *        64    REQUEST_TAIL                         producer: caller
 *        128   REQUEST_PARKED                       echo thread asleep in Atomics.wait
 *        192   RESPONSE_HEAD                        consumer: caller
 *        256   RESPONSE_TAIL                        producer: echo thread
 *        320   RESPONSE_PARKED                      caller asleep in Atomics.wait
 *        384   request slots  (SLOTS x stride)
 *              response slots (SLOTS x stride)
 *
 *   slot:  0 length (i32) | 4 id (i32) | 8 reserved | 16 payload ...
 *
 * Counters only grow (wrapping in i32); a slot is published by the Atomics.store
 * of the tail, whose partner is the consumer's Atomics.load of it: the plain
 * writes of the slot happen before the store, its reads after the load.
 * Parking ('wait' mode) is the Dekker handshake PhoenixIPC uses: the consumer
 * stores PARKED=1 then re-checks the tail; the producer stores the tail then
 * loads PARKED and notifies only if it swaps it 1 -> 0.
 */
const LINE_WORDS = 16;
export const REQUEST_HEAD_INDEX = 0;
export const REQUEST_TAIL_INDEX = 1 * LINE_WORDS;
export const REQUEST_PARKED_INDEX = 2 * LINE_WORDS;
export const RESPONSE_HEAD_INDEX = 3 * LINE_WORDS;
export const RESPONSE_TAIL_INDEX = 4 * LINE_WORDS;
export const RESPONSE_PARKED_INDEX = 5 * LINE_WORDS;
const DESCRIPTOR_BYTES = 6 * LINE_WORDS * 4;
export const SLOTS = 64;
export const SLOT_HEADER_BYTES = 16;
export const STOP_ID = -1;
/** A wait longer than this means the peer is gone. */
const WAIT_LIMIT_MS = 20_000;

export type SabWaitMode = 'spin' | 'wait';

export function slotStride(maxPayloadBytes: number): number {
  return Math.ceil((SLOT_HEADER_BYTES + maxPayloadBytes) / 64) * 64;
}

export function sabBytes(maxPayloadBytes: number): number {
  return DESCRIPTOR_BYTES + 2 * SLOTS * slotStride(maxPayloadBytes);
}

/** One direction: producer and consumer halves of one ring. */
export class SabRing {
  readonly words: Int32Array;
  readonly #head: number;
  readonly #tail: number;
  readonly #parked: number;
  readonly #slots: number;
  readonly #stride: number;
  readonly #wait: boolean;

  constructor(
    buffer: SharedArrayBuffer,
    direction: 'request' | 'response',
    maxPayloadBytes: number,
    mode: SabWaitMode,
  ) {
    this.words = new Int32Array(buffer);
    const request = direction === 'request';
    this.#head = request ? REQUEST_HEAD_INDEX : RESPONSE_HEAD_INDEX;
    this.#tail = request ? REQUEST_TAIL_INDEX : RESPONSE_TAIL_INDEX;
    this.#parked = request ? REQUEST_PARKED_INDEX : RESPONSE_PARKED_INDEX;
    this.#stride = slotStride(maxPayloadBytes);
    this.#slots = DESCRIPTOR_BYTES + (request ? 0 : SLOTS * this.#stride);
    this.#wait = mode === 'wait';
  }

  /** Byte offset of the slot for message number `count`. */
  slot(count: number): number {
    return this.#slots + (count & (SLOTS - 1)) * this.#stride;
  }

  /** Producer: makes message `tail` visible and wakes a parked consumer. */
  publish(tail: number): void {
    const words = this.words;
    Atomics.store(words, this.#tail, (tail + 1) | 0);
    if (
      this.#wait &&
      Atomics.load(words, this.#parked) === 1 &&
      Atomics.compareExchange(words, this.#parked, 1, 0) === 1
    ) {
      Atomics.notify(words, this.#parked, 1);
    }
  }

  /** Consumer: true if message `head` is there. */
  readable(head: number): boolean {
    return Atomics.load(this.words, this.#tail) !== head;
  }

  /** Consumer: waits (spinning or parked) until message `head` is there. */
  waitReadable(head: number): void {
    const words = this.words;
    if (Atomics.load(words, this.#tail) !== head) return;
    const started = performance.now();
    for (let polls = 1; ; polls++) {
      if (this.#wait) {
        Atomics.store(words, this.#parked, 1);
        if (Atomics.load(words, this.#tail) !== head) {
          Atomics.store(words, this.#parked, 0);
          return;
        }
        Atomics.wait(words, this.#parked, 1, 1000);
        Atomics.store(words, this.#parked, 0);
      }
      if (Atomics.load(words, this.#tail) !== head) return;
      if ((polls & 0xffff) === 0 && performance.now() - started > WAIT_LIMIT_MS) {
        throw new Error(
          `the ${this.#tail === REQUEST_TAIL_INDEX ? 'caller' : 'echo thread'} did not answer within ${WAIT_LIMIT_MS} ms`,
        );
      }
    }
  }

  /** Consumer: frees message `head`'s slot. */
  release(head: number): void {
    Atomics.store(this.words, this.#head, (head + 1) | 0);
  }
}
