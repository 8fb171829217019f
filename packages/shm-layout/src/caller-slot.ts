import {
  SLOT_ACKS_OFFSET,
  SLOT_GENERATION_OFFSET,
  SLOT_PARKED_OFFSET,
  SLOT_PID_OFFSET,
  SLOT_PID_START_TIME_OFFSET,
  SLOT_STATE_OFFSET,
  type SlotState,
} from './slot-record.js';

/**
 * A caller's connection slot: slot 0 is the supervisor's, the others are
 * handed to client processes. The supervisor writes state/generation/pid;
 * the caller writes PARKED and OUTSTANDING; each worker writes its ACK.
 */
export class CallerSlot {
  readonly index: number;
  readonly recordOffset: number;
  readonly #words: Int32Array;
  readonly #doubles: Float64Array;
  readonly #base: number;
  readonly #totalWorkers: number;

  constructor(words: Int32Array, doubles: Float64Array, index: number, recordOffset: number, totalWorkers: number) {
    this.index = index;
    this.recordOffset = recordOffset;
    this.#words = words;
    this.#doubles = doubles;
    this.#base = recordOffset >> 2;
    this.#totalWorkers = totalWorkers;
  }

  get state(): SlotState {
    return Atomics.load(this.#words, this.#base + (SLOT_STATE_OFFSET >> 2)) as SlotState;
  }

  set state(value: SlotState) {
    Atomics.store(this.#words, this.#base + (SLOT_STATE_OFFSET >> 2), value);
  }

  get generation(): number {
    return Atomics.load(this.#words, this.#base + (SLOT_GENERATION_OFFSET >> 2));
  }

  set generation(value: number) {
    Atomics.store(this.#words, this.#base + (SLOT_GENERATION_OFFSET >> 2), value);
  }

  get pid(): number {
    return Atomics.load(this.#words, this.#base + (SLOT_PID_OFFSET >> 2));
  }

  set pid(value: number) {
    Atomics.store(this.#words, this.#base + (SLOT_PID_OFFSET >> 2), value);
  }

  get pidStartTime(): number {
    return this.#doubles[(this.recordOffset + SLOT_PID_START_TIME_OFFSET) >> 3]!;
  }

  set pidStartTime(value: number) {
    this.#doubles[(this.recordOffset + SLOT_PID_START_TIME_OFFSET) >> 3] = value;
  }

  /** i32 index of the PARKED doorbell flag. */
  get parkedIndex(): number {
    return this.#base + (SLOT_PARKED_OFFSET >> 2);
  }

  /** i32 index of worker `globalIndex`'s ACK word. */
  ackIndex(globalIndex: number): number {
    return this.#base + (SLOT_ACKS_OFFSET >> 2) + globalIndex;
  }

  /** i32 index of the caller's OUTSTANDING count towards worker `globalIndex`. */
  outstandingIndex(globalIndex: number): number {
    return this.#base + (SLOT_ACKS_OFFSET >> 2) + this.#totalWorkers + globalIndex;
  }

  ack(globalIndex: number): number {
    return Atomics.load(this.#words, this.ackIndex(globalIndex));
  }

  outstanding(globalIndex: number): number {
    return Atomics.load(this.#words, this.outstandingIndex(globalIndex));
  }
}
