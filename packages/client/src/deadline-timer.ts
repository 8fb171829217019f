import { monotonicNowMs } from '@phoenix-ipc/shm-layout';
import { Hold, type PendingCall, type PendingCallPool } from './pending-call.js';
import { DeadlineQueues } from './timeout-queues.js';
import { clearUnrefTimer } from './unref-timer.js';

/** The longest delay setTimeout takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The deadlines of a caller's calls, behind one timer armed for the earliest
 * (unref'd: a pending deadline alone does not keep the process alive).
 */
export class DeadlineTimer {
  readonly #queues: DeadlineQueues<PendingCall>;
  readonly #expire: (call: PendingCall) => void;
  readonly #fireBound = () => this.#fire();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;

  /**
   * `expire` is called for each call whose deadline passed while it was
   * unsettled; `pool` takes a call back once it has left its queue and
   * nothing else holds it.
   */
  constructor(expire: (call: PendingCall) => void, pool: PendingCallPool) {
    this.#expire = expire;
    this.#queues = new DeadlineQueues<PendingCall>((call) => pool.drop(call, Hold.Deadline));
  }

  add(call: PendingCall): void {
    call.holds |= Hold.Deadline;
    this.#queues.add(call);
    if (this.#timer === undefined || call.deadline < this.#timerAt) this.#arm(call.deadline);
  }

  /** The call settled: settled calls leave the head of their queue. */
  settled(call: PendingCall): void {
    this.#queues.prune(call.timeoutMs);
  }

  stop(): void {
    if (this.#timer !== undefined) clearUnrefTimer(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Stops the timer if no unsettled call is left to time out. The caller
   * calls it once it has gone idle: a timer armed for a call that has long
   * settled would otherwise still wake the process at that call's deadline
   * (measured: the one wake-up of an idle client in its 10 s window, and a
   * cold wake-up costs 1-7 ms of CPU on a small VM). Not on every settle:
   * a caller making one call at a time would then arm a timer per call.
   */
  stopIfNoneLeft(): void {
    if (this.#timer !== undefined && this.#queues.earliest() === Number.POSITIVE_INFINITY) this.stop();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearUnrefTimer(this.#timer);
    this.#timerAt = at;
    // +1: a timer may fire up to a millisecond early against this clock. Node's longest delay is 2^31-1 ms;
    // past it Node warns and fires at once, so a later deadline is looked at again when this timer fires.
    this.#timer = setTimeout(this.#fireBound, Math.min(MAX_TIMER_MS, Math.max(0, at - monotonicNowMs()) + 1));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    const due = this.#queues.expired(monotonicNowMs());
    // Each call is still Live (unsettled), so none of them returns to the pool
    // before its turn; the generation check guards against an observer that
    // settles one synchronously from another's expiry.
    const generations = due.map((call) => call.generation);
    for (let i = 0; i < due.length; i++) if (due[i]!.generation === generations[i]) this.#expire(due[i]!);
    const next = this.#queues.earliest();
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  }
}
