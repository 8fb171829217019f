import { ringIfParked } from '@phoenix-ipc/client/internal';
import { type ErrorPayload, type PhoenixShmLayout, RequestState } from '@phoenix-ipc/shm-layout';
import type { Lane } from './lane.js';
import type { ServedSlot, ServedSlots } from './served-slots.js';

/**
 * How a finished request's reply gets into its slot's response ring. Two
 * ways, chosen once by concurrency (docs/architecture.md, "zero copy"):
 *
 *  - ZeroCopyPublisher (concurrency 1): the reply's room is reserved in the
 *    ring before the request is claimed and the handler writes into it;
 *    publishing is a commit. No room: the request waits in its ring.
 *  - CopyingPublisher (concurrency > 1): replies finish in any order, so each
 *    handler writes into its lane's scratch and the reply is copied into the
 *    ring when done. No room: the reply waits in the slot's backlog.
 *
 * The executor calls them in this order: reserve (before the claim), then
 * abort (claim lost) or room / rawRoom → handler → publish / publishError.
 */
export interface ReplyPublisher {
  /** Makes room for the lane's reply in `slot`; false if there is none now (the loop retries soon). */
  reserve(lane: Lane, slot: ServedSlot): boolean;
  /** The claim was lost after reserve: gives the room back. */
  abort(slot: ServedSlot): void;
  /** Where the handler writes its reply payload (maxPayloadBytes long). */
  room(lane: Lane): Uint8Array;
  /** The same room, as offsets: sets `lane.raw`'s reply, replyStart and replyEnd (no view is made). */
  rawRoom(lane: Lane): void;
  /**
   * Publishes the reply of `length` bytes the handler wrote into room(lane),
   * with the func id it chose and the lane's times. True if it is in the
   * ring and announced; false if it waits in the backlog.
   */
  publish(lane: Lane, funcId: number, length: number): boolean;
  /** Publishes a failure reply; true/false as publish. */
  publishError(lane: Lane, error: ErrorPayload): boolean;
  /** Pushes the replies still waiting in `slot`'s backlog; false if some still find no room. */
  flush(slot: ServedSlot): boolean;
  /**
   * False while `slot`'s replies cannot go out: its response ring had no room
   * and still has none. The loop then has nothing to do for the slot and may
   * wait (its caller rings a parked worker once it has read its replies).
   */
  hasReplyRoom(slot: ServedSlot): boolean;
  /**
   * Publishes the replies staged in `slot`'s response ring: one tail store,
   * at most one doorbell. The loop calls it when it stops serving the slot
   * for now (its ring ran dry, or its batch ended) and after an async reply.
   */
  publishStaged(slot: ServedSlot): void;
  /** Stops the retry timer (the worker stops). */
  close(): void;
}

export interface ReplyPublisherConfig {
  layout: PhoenixShmLayout;
  /** Room for one reply payload in a response record (what a failure reply may use). */
  replyRoom: number;
  slots: ServedSlots;
  /** Runs the serving loop (the retry timer's callback). */
  runLoop: () => void;
  /** Zero copy: replies staged before the ring's tail is published (the replyBatch option). */
  replyBatch: number;
}

/**
 * A reply is in the ring: ring the caller if it sleeps, then mark the request
 * DONE. Release store of DONE; partner: the supervisor's compareExchange of
 * TAKEN in recovery, which must not fail a request whose reply is out.
 */
export function announce(words: Int32Array, slot: ServedSlot, stateIndex: number): void {
  ringIfParked(words, slot.parkedIndex, slot.doorbellFd);
  Atomics.store(words, stateIndex, RequestState.Done);
}

/** The retry's first delay, and the longest it backs off to while nothing changes. */
const RETRY_MS = 1;
const RETRY_MAX_MS = 64;

/**
 * Runs the loop again while replies find no room (a full response ring).
 * The caller rings a parked worker when it reads replies while calls to it
 * are still in flight (ReplySink.roomMade), so this is the safety net for a
 * caller that does not: it backs off from RETRY_MS to RETRY_MAX_MS while the
 * ring stays full, so that a caller stopped for good (SIGSTOP, a debugger)
 * costs its worker a wake-up now and then, not one a millisecond. It re-arms
 * itself while `stillBlocked()` says so; reset() when replies go out again.
 */
export class RetryTimer {
  readonly #runLoop: () => void;
  readonly #stillBlocked: () => boolean;
  #timer: NodeJS.Timeout | undefined;
  #delayMs = RETRY_MS;

  constructor(runLoop: () => void, stillBlocked: () => boolean) {
    this.#runLoop = runLoop;
    this.#stillBlocked = stillBlocked;
  }

  arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#fire, this.#delayMs);
    this.#delayMs = Math.min(this.#delayMs * 2, RETRY_MAX_MS);
  }

  /** Replies found room again: the next wait starts from the first delay. */
  reset(): void {
    this.#delayMs = RETRY_MS;
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#runLoop();
    if (this.#stillBlocked()) this.arm();
  };
}
