import {
  PhoenixError,
  type PhoenixShmLayout,
  SegmentDescriptor,
  SlotState,
  type SpscRingBuffer,
  type WorkerChannel,
} from '@phoenix-ipc/shm-layout';

/** A request taken from a request ring whose space is released in ring order (concurrency > 1). */
export interface TakenRequest {
  /** The ring's read position just after this request. */
  bytes: number;
  count: number;
  /** Its reply is out (or nobody runs it): the space up to here may go. */
  done: boolean;
}

/** A finished reply (a whole response record) waiting for room in its response ring. */
export interface QueuedReply {
  bytes: Uint8Array;
  /** The request's state word, set to DONE once the reply is in the ring. */
  stateIndex: number;
}

/** A caller slot this worker serves (attached at one slot generation). */
export interface ServedSlot {
  index: number;
  generation: number;
  requests: SpscRingBuffer;
  responses: SpscRingBuffer;
  /** The caller's PARKED word and doorbell: a published reply rings it if it sleeps. */
  parkedIndex: number;
  doorbellFd: number;
  /** Concurrency > 1: taken requests in ring order, released in order once done. */
  inOrder: TakenRequest[];
  /** Concurrency > 1: finished replies that did not fit in the response ring yet. */
  backlog: QueuedReply[];
  /** Handlers running for this slot's requests. */
  inProgress: number;
  /** Zero copy: replies staged in the response ring, not yet published. */
  staged: number;
  /**
   * Zero copy: the last reply found no room in the response ring (the caller
   * has not read its replies). The loop does not count the slot's requests
   * as work until there is room again, so it waits instead of spinning.
   */
  waitsForReplyRoom: boolean;
  /** Zero copy: where the running async request starts; release stops there until it is done. */
  hold: { bytes: number; count: number } | null;
  /** The supervisor is taking the slot back: serve nothing more, ack once inProgress is 0. */
  closing: boolean;
}

/**
 * The caller slots this worker serves, kept in step with the supervisor's
 * slot table, and the slot half of the detach protocol:
 *
 *   supervisor: slot ACTIVE/DRAINING/FREE, then bumps SLOT_EPOCH
 *   worker:     sees the epoch move, re-reads the slots; for a DRAINING slot
 *               it stops touching the rings and stores ACK = generation
 *               (only once no handler holds views into them)
 *   supervisor: polls the ACKs, then reformats the rings and frees the slot
 */
export class ServedSlots {
  /** The slots served now, in attach order (the loop round-robins over them). */
  readonly active: ServedSlot[] = [];
  readonly #served: (ServedSlot | undefined)[];
  readonly #layout: PhoenixShmLayout;
  readonly #channel: WorkerChannel;
  readonly #words: Int32Array;
  readonly #epochIndex: number;
  readonly #slotDoorbellFds: readonly number[];
  readonly #onCorruptSlot: ((slot: number, error: PhoenixError) => void) | undefined;
  #epoch = -1;

  constructor(
    layout: PhoenixShmLayout,
    channel: WorkerChannel,
    slotDoorbellFds: readonly number[],
    onCorruptSlot: ((slot: number, error: PhoenixError) => void) | undefined,
  ) {
    this.#layout = layout;
    this.#channel = channel;
    this.#words = layout.views.words;
    this.#epochIndex = SegmentDescriptor.SLOT_EPOCH_OFFSET >> 2;
    this.#slotDoorbellFds = slotDoorbellFds;
    this.#onCorruptSlot = onCorruptSlot;
    this.#served = new Array(layout.slots.length);
  }

  /** Whether the supervisor changed a slot since the last refresh (or a refresh is owed). */
  get changed(): boolean {
    // Acquire; partner: the supervisor's Atomics.add in bumpSlotEpoch, made
    // after it wrote the slot's state and generation, so those read fresh.
    return Atomics.load(this.#words, this.#epochIndex) !== this.#epoch;
  }

  /** Makes the next refresh look at every slot (a closing slot's last handler finished). */
  lookAgain(): void {
    this.#epoch = -1;
  }

  /** Whether `slot` is still served (not detached, not replaced by a newer generation). */
  serves(slot: ServedSlot): boolean {
    return this.#served[slot.index] === slot;
  }

  /** Re-reads the caller slots when the supervisor has changed any. */
  refresh(): void {
    // Acquire; partner: bumpSlotEpoch (see `changed`).
    const epoch = Atomics.load(this.#words, this.#epochIndex);
    if (epoch === this.#epoch) return;
    this.#epoch = epoch;
    const me = this.#channel.globalIndex;
    let waiting = false;
    for (const slot of this.#layout.slots) {
      const state = slot.state;
      const generation = slot.generation;
      const served = this.#served[slot.index];
      if (state === SlotState.Active && served !== undefined && served.generation === generation) continue;
      if (served !== undefined) {
        if (served.inProgress > 0) {
          // A handler still holds views into this slot's rings: ack only after it is done.
          served.closing = true;
          waiting = true;
          continue;
        }
        this.detach(served);
      }
      if (state === SlotState.Active) {
        try {
          this.#attach(slot.index, generation);
        } catch (error) {
          this.#onCorruptSlot?.(slot.index, PhoenixError.from(error, 'ERR_PHOENIX_BAD_RING'));
        }
      }
      // Draining: tell the supervisor we no longer touch this slot's rings.
      // Release; partner: the supervisor's Atomics.load of the ACK before it
      // reformats the rings (our last ring access happens-before its format).
      else if (state === SlotState.Draining && slot.ack(me) !== generation)
        Atomics.store(this.#words, slot.ackIndex(me), generation);
    }
    if (waiting) this.#epoch = -1;
  }

  /** Stops serving `slot` (detached, or its request ring is corrupt). */
  detach(served: ServedSlot): void {
    this.#served[served.index] = undefined;
    const at = this.active.indexOf(served);
    if (at >= 0) this.active.splice(at, 1);
    served.backlog.length = 0;
  }

  #attach(index: number, generation: number): void {
    const previous = this.#served[index];
    if (previous !== undefined) this.detach(previous);
    const requests = this.#channel.requestRing(index);
    const responses = this.#channel.responseRing(index);
    // We take over the consumer role of the request ring and the producer role
    // of the response ring from whoever had them (a predecessor, or nobody).
    requests.resync();
    responses.resync();
    const served: ServedSlot = {
      index,
      generation,
      requests,
      responses,
      parkedIndex: this.#layout.getSlot(index).parkedIndex,
      doorbellFd: this.#slotDoorbellFds[index]!,
      inOrder: [],
      backlog: [],
      inProgress: 0,
      staged: 0,
      waitsForReplyRoom: false,
      hold: null,
      closing: false,
    };
    this.#served[index] = served;
    this.active.push(served);
  }
}

/**
 * How a slot's request-ring space goes back to its caller. A handler reads
 * its request in place, so a request's space goes only once its handler is
 * done. Two ways, one per reply mode, chosen once with the reply publisher:
 * ReleaseUpToHold (zero copy, one lane) and ReleaseInOrder (lanes).
 *
 * release()/releaseTo() store the ring's head with release order; partner:
 * the caller's load of the head when its cached copy says the ring is full.
 * So our last read of a request happens-before the caller writes over it.
 */
export interface RequestRelease {
  /** A request was just taken from the ring (`done`: nobody runs it); returns what to mark done later, if anything. */
  taken(slot: ServedSlot, done: boolean): TakenRequest | null;
  /** An async handler runs on the request that starts at this read position. */
  hold(slot: ServedSlot, bytes: number, count: number): void;
  /** Gives back the space of the requests that are done. */
  release(slot: ServedSlot): void;
}

/**
 * Zero copy (concurrency 1): a sync handler is done before the loop releases,
 * so everything taken may go, except from a running async request onwards.
 */
export class ReleaseUpToHold implements RequestRelease {
  taken(): null {
    return null;
  }

  hold(slot: ServedSlot, bytes: number, count: number): void {
    slot.hold = { bytes, count };
  }

  release(slot: ServedSlot): void {
    const hold = slot.hold;
    if (hold === null) slot.requests.release();
    else slot.requests.releaseTo(hold.bytes, hold.count);
  }
}

/**
 * Concurrency > 1: requests finish out of order; the space goes up to the
 * first one still running (a ring releases only from its head).
 */
export class ReleaseInOrder implements RequestRelease {
  taken(slot: ServedSlot, done: boolean): TakenRequest {
    const entry = { bytes: slot.requests.readPositionBytes, count: slot.requests.readPositionCount, done };
    slot.inOrder.push(entry);
    return entry;
  }

  // A running request is an entry not done yet: it holds the release already.
  hold(): void {}

  release(slot: ServedSlot): void {
    const queue = slot.inOrder;
    let last: TakenRequest | undefined;
    let n = 0;
    while (n < queue.length && queue[n]!.done) last = queue[n++];
    if (last !== undefined) {
      queue.splice(0, n);
      slot.requests.releaseTo(last.bytes, last.count);
    }
  }
}
