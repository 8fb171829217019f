import { BurstReadings, type PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { Hold, type PendingCall, type PendingCallPool } from './pending-call.js';

/** Initial slots of the table (a power of two); it doubles when half full. */
const INITIAL_SLOTS = 256;

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
 * The two shared words follow the local count once per burst, not per call
 * (publishCounts(): an Atomics.add and a store per worker touched, where a
 * pipelined caller paid them twice per call). Requests are published per
 * burst too, so no worker or sibling could have seen them any sooner; both
 * words move together, so a caller that dies between bursts leaves them
 * consistent for the supervisor's repair.
 *
 * The calls sit in an array indexed by seq id modulo its length (a power of
 * two), probed linearly on collision; removal shifts the run that follows
 * back (no tombstones), and the array doubles when half full. A caller's seq
 * ids come in blocks of consecutive numbers, so slots rarely collide: the
 * table counts the calls that are not in their home slot, and while there
 * are none a removal just empties its slot (the shift would walk the whole
 * run of calls in flight after it, 64 of them when pipelined, for nothing).
 * No allocation per call.
 */
export class InFlightTable {
  #slots: (PendingCall | undefined)[] = new Array(INITIAL_SLOTS).fill(undefined);
  #mask = INITIAL_SLOTS - 1;
  #size = 0;
  /** Calls not in their home slot (seqId & mask): while 0, no run needs shifting. */
  #displaced = 0;
  readonly #pool: PendingCallPool;
  readonly #perWorker: Int32Array;
  readonly #words: Int32Array;
  readonly #pendingIndex: Int32Array;
  readonly #outstandingIndex: Int32Array;
  /**
   * Per worker, the local count minus what the shared words last got
   * (publishCounts() publishes it; dispatch counts it as load meanwhile:
   * DispatchOptions.unpublished).
   */
  readonly unpublished: Int32Array;
  /** Dispatch's readings of the shared words: stale once this caller publishes its counts. */
  readonly readings: BurstReadings;

  /** `pool` takes a call back once it has left the table and nothing else holds it. */
  constructor(layout: PhoenixShmLayout, slot: number, pool: PendingCallPool) {
    const ownSlot = layout.getSlot(slot);
    this.#pool = pool;
    this.#words = layout.views.words;
    this.#perWorker = new Int32Array(layout.channels.length);
    this.unpublished = new Int32Array(layout.channels.length);
    this.readings = new BurstReadings(layout.channels.length);
    this.#pendingIndex = Int32Array.from(layout.channels, (channel) => channel.pendingIndex);
    this.#outstandingIndex = Int32Array.from(layout.channels, (channel) =>
      ownSlot.outstandingIndex(channel.globalIndex),
    );
  }

  get size(): number {
    return this.#size;
  }

  has(seqId: number): boolean {
    return this.get(seqId) !== undefined;
  }

  get(seqId: number): PendingCall | undefined {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = seqId & mask; ; i = (i + 1) & mask) {
      const call = slots[i];
      if (call === undefined || call.seqId === seqId) return call;
    }
  }

  /** Requests of this caller written to `worker` and not yet accounted for. */
  countTo(worker: number): number {
    return this.#perWorker[worker]!;
  }

  /**
   * The call was written to `call.worker` (its seq id is not in the table).
   * The shared counts follow at the next publishCounts() (the writer's flush,
   * which is also when the request becomes visible).
   */
  add(call: PendingCall): void {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    this.#insert(call);
    this.#size++;
    call.holds |= Hold.InFlight;
    this.#count(call.worker, 1);
  }

  /** The call's fate is known (cancelled, moved, failed): it leaves the table and the counts, published now. */
  remove(call: PendingCall): void {
    this.removeInBatch(call);
    this.publishCounts();
  }

  /** remove() for a reader taking replies in a batch: it calls publishCounts() once at the end. */
  removeInBatch(call: PendingCall): void {
    if (!this.#delete(call)) return;
    this.#size--;
    this.#count(call.worker, -1);
    this.#pool.drop(call, Hold.InFlight);
  }

  /** Brings each touched worker's shared PENDING word and this slot's OUTSTANDING mirror up to the local count. */
  publishCounts(): void {
    this.readings.nextBurst();
    const unpublished = this.unpublished;
    const words = this.#words;
    // One pass over a handful of workers: cheaper than keeping a list of the ones touched.
    for (let worker = 0; worker < unpublished.length; worker++) {
      const delta = unpublished[worker]!;
      if (delta === 0) continue;
      unpublished[worker] = 0;
      Atomics.add(words, this.#pendingIndex[worker]!, delta);
      words[this.#outstandingIndex[worker]!] = this.#perWorker[worker]!;
    }
  }

  callsTo(worker: number): PendingCall[] {
    const calls: PendingCall[] = [];
    for (const call of this.#slots) if (call !== undefined && call.worker === worker) calls.push(call);
    return calls;
  }

  /** Every call in the table (a copy: the table may change while the caller walks it). */
  values(): PendingCall[] {
    const calls: PendingCall[] = [];
    for (const call of this.#slots) if (call !== undefined) calls.push(call);
    return calls;
  }

  /** Forgets every call (the caller is closing; the supervisor reclaims the counts with the slot). */
  clear(): void {
    this.#slots.fill(undefined);
    this.#size = 0;
    this.#displaced = 0;
    this.unpublished.fill(0);
  }

  #insert(call: PendingCall): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = call.seqId & mask;
    if (slots[i] !== undefined) {
      this.#displaced++;
      do i = (i + 1) & mask;
      while (slots[i] !== undefined);
    }
    slots[i] = call;
  }

  // Linear probing without tombstones: after emptying slot i, every later
  // entry of the same run whose home slot is not in (i, j] moves back into i.
  #delete(call: PendingCall): boolean {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = call.seqId & mask;
    for (;;) {
      const at = slots[i];
      if (at === undefined) return false;
      if (at === call) break;
      i = (i + 1) & mask;
    }
    if (i !== (call.seqId & mask)) this.#displaced--;
    // Nothing displaced: every call after slot i is in its home slot, so stays reachable.
    if (this.#displaced === 0) {
      slots[i] = undefined;
      return true;
    }
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const next = slots[j];
      if (next === undefined) break;
      const home = next.seqId & mask;
      // Does `next` stay reachable from its home if slot i is empty? Only if home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        slots[i] = next;
        if (i === home) this.#displaced--; // back home
        i = j;
      }
    }
    slots[i] = undefined;
    return true;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Array(old.length * 2).fill(undefined);
    this.#mask = this.#slots.length - 1;
    this.#displaced = 0;
    for (const call of old) if (call !== undefined) this.#insert(call);
  }

  #count(worker: number, delta: number): void {
    this.#perWorker[worker]! += delta;
    this.unpublished[worker]! += delta;
  }
}
