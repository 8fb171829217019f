import { GROUP_NORMAL, type PhoenixError } from '@phoenix-ipc/shm-layout';
import type { QueueFullPolicy, RequestBytes } from './call-options.js';
import type { ErrorMapper, Reply, ReplyDecoder } from './reply.js';
import type { ReplyHandler } from './reply-deliveries.js';
import type { DeadlineEntry } from './timeout-queues.js';

/**
 * What still refers to a PendingCall (bits of `holds`). A call goes back to
 * its pool only when no bit is set: its promise settled, and no table, queue
 * or timer of the engine can reach it any more.
 */
export const Hold = {
  /** Unsettled: the caller waits for it. */
  Live: 1,
  /** In the in-flight table (written, fate unknown). */
  InFlight: 2,
  /** In a WaitingCalls FIFO (waiting for ring space). */
  Waiting: 4,
  /** In a DeadlineQueues FIFO (settled entries leave it from the head only). */
  Deadline: 8,
} as const;

/**
 * One call from submission until its reply (or failure) is seen. It stays in
 * the engine's in-flight table after its promise settles (timeout, abort) for
 * as long as a reply can still arrive, so that every request is counted out
 * exactly once and a late reply is recognised and dropped.
 *
 * Calls are pooled (PendingCallPool): the fields are reset on reuse and
 * `generation` counts the reuses, so a callback made for one use (a batch of
 * expired deadlines) can tell that the object now carries another call.
 */
export class PendingCall implements DeadlineEntry {
  seqId = 0;
  funcId = 0;
  /** 0 normal, 1 VIP. */
  groupId: number = GROUP_NORMAL;
  /** Global index of the worker the request was written to; -1 while waiting for space. */
  worker = -1;
  /** Absolute byte offset of the request frame in the segment. */
  frame = -1;
  /** Message index of the request in its ring (to tell whether the worker consumed it). */
  msgIndex = 0;
  deadline = 0;
  timeoutMs = 0;
  startedAt = 0;
  onQueueFull: QueueFullPolicy = 'wait';
  /** Kept only while the call waits for ring space. */
  payload: RequestBytes | null = null;
  settled = false;
  sync = false;
  resolve: ((reply: Reply) => void) | null = null;
  reject: ((error: unknown) => void) | null = null;
  /** The call's AbortSignal while it is live (the engine's AbortWatch listens to it). */
  signal: AbortSignal | undefined = undefined;
  /** callInto: the caller's buffer the reply payload is copied into (null: a fresh copy). */
  target: Uint8Array | null = null;
  /** callDecoded: makes the call's value from the reply payload in shared memory (null: a Reply). */
  decode: ReplyDecoder | null = null;
  /** callDecoded: what the call rejects with instead of a PhoenixError (null: the error itself). */
  mapError: ErrorMapper | null = null;
  /** sendInto: gets the outcome instead of a promise (null: the call has a promise). */
  handler: ReplyHandler | null = null;
  syncReply: Reply | null = null;
  syncError: PhoenixError | null = null;
  /** Hold bits: who still refers to this call. */
  holds = 0;
  /** Bumped each time the pool hands the object out again. */
  generation = 0;
  /** False for calls that must never be reused (callSync reads its result after settling). */
  pooled = true;
}

/**
 * Free PendingCalls, so that a call in steady state allocates none. A call
 * comes back through release() once its last hold is cleared; the pool keeps
 * at most `limit` of them (a burst of many calls does not pin their memory).
 */
export class PendingCallPool {
  readonly #free: PendingCall[] = [];
  readonly #limit: number;

  constructor(limit = 4096) {
    this.#limit = limit;
  }

  /** Free calls held now. */
  get size(): number {
    return this.#free.length;
  }

  /**
   * A reset call (fresh or reused) with the Live hold set. Fields are reset
   * here, not on release: a call in the pool keeps `settled = true`, so code
   * that still looks at it right after releasing it (a late reply, a failed
   * channel) sees a settled call and leaves it alone.
   */
  acquire(): PendingCall {
    const call = this.#free.pop();
    if (call === undefined) {
      const fresh = new PendingCall();
      fresh.holds = Hold.Live;
      return fresh;
    }
    call.generation++;
    call.holds = Hold.Live;
    call.seqId = 0;
    call.funcId = 0;
    call.groupId = GROUP_NORMAL;
    call.worker = -1;
    call.frame = -1;
    call.msgIndex = 0;
    call.deadline = 0;
    call.timeoutMs = 0;
    call.startedAt = 0;
    call.onQueueFull = 'wait';
    call.settled = false;
    call.sync = false;
    return call;
  }

  /**
   * Clears `hold` and takes the call back if nothing refers to it any more
   * (only settled calls can get there: Live is cleared by settling).
   */
  drop(call: PendingCall, hold: number): void {
    // Clearing a hold the call does not have changes nothing (and never frees it twice).
    if ((call.holds & hold) === 0) return;
    const holds = call.holds & ~hold;
    call.holds = holds;
    if (holds !== 0 || !call.pooled) return;
    // What the caller's memory may hang on to goes now; the rest is reset by acquire().
    call.payload = null;
    call.target = null;
    call.decode = null;
    call.mapError = null;
    call.handler = null;
    call.resolve = null;
    call.reject = null;
    call.signal = undefined;
    if (this.#free.length < this.#limit) this.#free.push(call);
  }
}
