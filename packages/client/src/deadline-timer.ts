import { monotonicNowMs } from '@phoenix-ipc/shm-layout';
import type { PendingCall } from './pending-call.js';
import { DeadlineQueues } from './timeout-queues.js';

/**
 * The deadlines of a caller's calls, behind one timer armed for the earliest
 * (unref'd: a pending deadline alone does not keep the process alive).
 */
export class DeadlineTimer {
  readonly #queues = new DeadlineQueues<PendingCall>();
  readonly #expire: (call: PendingCall) => void;
  readonly #fireBound = () => this.#fire();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;

  /** `expire` is called for each call whose deadline passed while it was unsettled. */
  constructor(expire: (call: PendingCall) => void) {
    this.#expire = expire;
  }

  add(call: PendingCall): void {
    this.#queues.add(call);
    if (this.#timer === undefined || call.deadline < this.#timerAt) this.#arm(call.deadline);
  }

  /** The call settled: settled calls leave the head of their queue. */
  settled(call: PendingCall): void {
    this.#queues.prune(call.timeoutMs);
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#fireBound, Math.max(0, at - monotonicNowMs()) + 1);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    for (const call of this.#queues.expired(monotonicNowMs())) this.#expire(call);
    const next = this.#queues.earliest();
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  }
}
