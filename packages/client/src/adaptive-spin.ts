import type { WaitStrategy } from '@phoenix-ipc/shm-layout';

/**
 * How long a consumer that found nothing spins before it parks on its
 * doorbell. A blocking wake-up costs ~20-30 µs on this class of machine and a
 * spinning hand-off well under 1 µs, so a short spin pays whenever the next
 * message comes soon.
 *
 * The budget learns from how long work actually took to arrive:
 *  - a spin that found work after t µs keeps the budget at least 2t;
 *  - a park that was woken after t µs (the wake-up cost included) pushes the
 *    budget up to cover t when t is within the ceiling — had we spun that
 *    long, we would have caught it — and lets it decay when t is long (idle
 *    periods, slow handlers), so an idle or slow peer costs almost no CPU.
 * Both sides of a ping-pong therefore settle on spinning: if one parks, the
 * other's next wait includes that wake-up and its budget grows to cover it.
 *
 * A spinner may hold a CPU its peer is queued for (more busy processes than
 * CPUs): the Waiter gives its CPU away while it spins past a few µs (see
 * SpinThenPark), so the budget does not shrink for that.
 *
 * Strategies: 'adaptive' (this), 'spin' (never park while waiting: lowest
 * latency, a whole core per waiting process), 'block' (park at once: every
 * message pays a wake-up, zero CPU while waiting).
 */
export class AdaptiveSpin {
  static readonly FLOOR_US = 4;
  static readonly CEILING_US = 120;
  static readonly INITIAL_US = 50;
  readonly strategy: WaitStrategy;
  #budgetUs: number;
  #parkedAt = -1;

  constructor(strategy: WaitStrategy, initialUs = AdaptiveSpin.INITIAL_US) {
    this.strategy = strategy;
    this.#budgetUs = strategy === 'block' ? 0 : initialUs;
  }

  /** Microseconds to spin now; Infinity for 'spin', 0 for 'block'. */
  get budgetUs(): number {
    return this.strategy === 'spin' ? Number.POSITIVE_INFINITY : this.#budgetUs;
  }

  /** A spin found work after `waitedUs`: keep the budget at least twice that. */
  succeeded(waitedUs: number): void {
    if (this.strategy !== 'adaptive') return;
    const wanted = Math.min(AdaptiveSpin.CEILING_US, 2 * waitedUs);
    if (wanted > this.#budgetUs) this.#budgetUs = wanted;
  }

  /** The consumer is about to sleep on its doorbell. */
  parked(nowMs: number): void {
    this.#parkedAt = nowMs;
  }

  /** The consumer woke (doorbell or new work of its own). */
  woke(nowMs: number): void {
    if (this.strategy !== 'adaptive' || this.#parkedAt < 0) return;
    const waitedUs = (nowMs - this.#parkedAt) * 1000;
    this.#parkedAt = -1;
    if (waitedUs <= AdaptiveSpin.CEILING_US) {
      this.#budgetUs = Math.min(AdaptiveSpin.CEILING_US, Math.max(this.#budgetUs, waitedUs * 1.25));
    } else {
      this.#budgetUs = Math.max(AdaptiveSpin.FLOOR_US, this.#budgetUs * 0.9);
    }
  }
}
