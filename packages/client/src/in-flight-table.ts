import type { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import type { PendingCall } from './pending-call.js';

/**
 * The calls a caller has written and not yet accounted for, by seq id, and
 * the counts that follow them. Every request is counted from the moment it is
 * written until its reply, cancellation, move or failure is seen — exactly
 * once, because a call that timed out stays here until its fate is known:
 *  - per worker, locally (a caller keeps at most a ring's capacity in flight
 *    to one worker, so the worker always has room for the replies);
 *  - in the worker's shared PENDING word (least-loaded dispatch);
 *  - in this slot's OUTSTANDING mirror, so the supervisor can repair PENDING
 *    if this caller dies.
 */
export class InFlightTable {
  readonly #calls = new Map<number, PendingCall>();
  readonly #perWorker: Int32Array;
  readonly #words: Int32Array;
  readonly #pendingIndex: Int32Array;
  readonly #outstandingIndex: Int32Array;

  constructor(layout: PhoenixShmLayout, slot: number) {
    const ownSlot = layout.getSlot(slot);
    this.#words = layout.views.words;
    this.#perWorker = new Int32Array(layout.channels.length);
    this.#pendingIndex = Int32Array.from(layout.channels, (channel) => channel.pendingIndex);
    this.#outstandingIndex = Int32Array.from(layout.channels, (channel) =>
      ownSlot.outstandingIndex(channel.globalIndex),
    );
  }

  get size(): number {
    return this.#calls.size;
  }

  has(seqId: number): boolean {
    return this.#calls.has(seqId);
  }

  get(seqId: number): PendingCall | undefined {
    return this.#calls.get(seqId);
  }

  /** Requests of this caller written to `worker` and not yet accounted for. */
  countTo(worker: number): number {
    return this.#perWorker[worker]!;
  }

  /** The call was written to `call.worker`. */
  add(call: PendingCall): void {
    this.#calls.set(call.seqId, call);
    this.#count(call.worker, 1);
  }

  /** The call's fate is known (reply, cancelled, moved, failed): it leaves the table and the counts. */
  remove(call: PendingCall): void {
    this.#calls.delete(call.seqId);
    this.#count(call.worker, -1);
  }

  callsTo(worker: number): PendingCall[] {
    const calls: PendingCall[] = [];
    for (const call of this.#calls.values()) if (call.worker === worker) calls.push(call);
    return calls;
  }

  values(): IterableIterator<PendingCall> {
    return this.#calls.values();
  }

  /** Forgets every call (the caller is closing; the supervisor reclaims the counts with the slot). */
  clear(): void {
    this.#calls.clear();
  }

  #count(worker: number, delta: number): void {
    const perWorker = this.#perWorker;
    perWorker[worker]! += delta;
    Atomics.add(this.#words, this.#pendingIndex[worker]!, delta);
    this.#words[this.#outstandingIndex[worker]!] = perWorker[worker]!;
  }
}
