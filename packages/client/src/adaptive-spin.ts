import type { WaitStrategy } from '@phoenix-ipc/shm-layout';

/**
 * How long a consumer that found nothing spins before it parks on its
 * doorbell. A blocking wake-up costs ~20-30 µs on this class of machine, a
 * spinning one well under 1 µs, so a short spin pays when the answer comes
 * soon. The budget tunes itself: a spin that found work moves the budget
 * towards a few times the time it took; a spin that found nothing halves it.
 * When replies are slow (long handlers) or the CPUs are oversubscribed (more
 * busy processes than cores, where spinning steals the CPU the other side
 * needs) spins keep failing and the budget falls to the floor, which behaves
 * like 'block'.
 *
 * Strategies: 'adaptive' (this), 'spin' (never park while waiting: lowest
 * latency, a whole core per waiting process), 'block' (park at once: every
 * message pays a wake-up, zero CPU).
 */
export class AdaptiveSpin {
  static readonly FLOOR_US = 2;
  static readonly CEILING_US = 100;
  readonly strategy: WaitStrategy;
  #budgetUs: number;

  constructor(strategy: WaitStrategy, initialUs = 50) {
    this.strategy = strategy;
    this.#budgetUs = strategy === 'block' ? 0 : initialUs;
  }

  /** Microseconds to spin now; Infinity for 'spin', 0 for 'block'. */
  get budgetUs(): number {
    if (this.strategy === 'spin') return Number.POSITIVE_INFINITY;
    return this.#budgetUs;
  }

  /** A spin found work after `waitedUs`. */
  succeeded(waitedUs: number): void {
    if (this.strategy !== 'adaptive') return;
    const target = Math.min(AdaptiveSpin.CEILING_US, Math.max(AdaptiveSpin.FLOOR_US * 4, 4 * waitedUs));
    this.#budgetUs += (target - this.#budgetUs) / 4;
  }

  /** A spin ran out its budget and the consumer parked. */
  failed(): void {
    if (this.strategy !== 'adaptive') return;
    this.#budgetUs = Math.max(AdaptiveSpin.FLOOR_US, this.#budgetUs / 2);
  }
}
