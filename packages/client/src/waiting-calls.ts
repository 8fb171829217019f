import { PhoenixError } from '@phoenix-ipc/shm-layout';
import type { RequestBytes } from './call-options.js';
import { Hold, type PendingCall, type PendingCallPool } from './pending-call.js';
import { Fifo } from './timeout-queues.js';

/**
 * Calls waiting for queue space (onQueueFull 'wait'), one FIFO per target
 * group (normal, VIP): a call whose group has room goes out at once, whatever
 * waits for the other group, and within a group calls keep their order.
 */
export class WaitingCalls {
  readonly #groups = [new Fifo<PendingCall>(), new Fifo<PendingCall>()] as const;
  #count = 0;
  readonly #pool: PendingCallPool;

  /** `pool` takes a call back once it has left its FIFO and nothing else holds it. */
  constructor(pool: PendingCallPool) {
    this.#pool = pool;
  }

  get count(): number {
    return this.#count;
  }

  /** Whether calls to `groupId` wait already (a new one must queue behind them). */
  hasWaiting(groupId: number): boolean {
    return this.#groups[groupId]!.length > 0;
  }

  push(call: PendingCall, payload: RequestBytes): void {
    call.payload = payload;
    call.holds |= Hold.Waiting;
    this.#groups[call.groupId]!.push(call);
    this.#count++;
  }

  /** Puts a call back at the head of its group (it was written before the ones waiting). */
  unshift(call: PendingCall, payload: RequestBytes): void {
    call.payload = payload;
    call.holds |= Hold.Waiting;
    this.#groups[call.groupId]!.unshift(call);
    this.#count++;
  }

  /**
   * Writes each group's waiting calls in order while `write` finds room;
   * settled ones are dropped. When `write` throws (the group lost every
   * worker), that group's calls all fail with the error.
   */
  retry(write: (call: PendingCall) => boolean, fail: (call: PendingCall, error: PhoenixError) => void): void {
    for (const group of this.#groups) {
      if (group.length === 0) continue;
      try {
        for (let call = group.peek(); call !== undefined; call = group.peek()) {
          if (!call.settled && !write(call)) break;
          group.shift();
          this.#count--;
          this.#pool.drop(call, Hold.Waiting);
        }
      } catch (error) {
        const failure = PhoenixError.from(error, 'ERR_PHOENIX_UNAVAILABLE');
        for (let call = group.shift(); call !== undefined; call = group.shift()) {
          this.#count--;
          // A settled call may go back to the pool here; an unsettled one is Live until fail() settles it.
          const settled = call.settled;
          this.#pool.drop(call, Hold.Waiting);
          if (!settled) fail(call, failure);
        }
      }
    }
  }

  /** Removes every waiting call; returns the unsettled ones. */
  takeAll(): PendingCall[] {
    const all: PendingCall[] = [];
    for (const group of this.#groups)
      for (let call = group.shift(); call !== undefined; call = group.shift()) {
        if (!call.settled) all.push(call);
        this.#pool.drop(call, Hold.Waiting);
      }
    this.#count = 0;
    return all;
  }
}
