import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { WaitStrategy } from '@phoenix-ipc/shm-layout';

/**
 * Threads runnable on the machine right now (the 4th field of /proc/loadavg,
 * "running/total"), or null where that file does not exist.
 */
export function runnableThreads(): number | null {
  try {
    const field = readFileSync('/proc/loadavg', 'latin1').split(' ')[3];
    const running = Number.parseInt(field ?? '', 10);
    return Number.isFinite(running) ? running : null;
  } catch {
    return null;
  }
}

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
 * On an oversubscribed machine (two or more threads runnable beyond the
 * CPUs in two checks in a row, LOAD_CHECK_MS apart) a spinner holds a CPU its
 * peer may be queued for, so the budget drops to the floor until the machine
 * has room again: adaptive then behaves like 'block' instead of paying a spin
 * and a wake-up. /proc/loadavg counts the whole machine, so in a container
 * limited to fewer CPUs than a busy host has, adaptive steps back early.
 * Where the count is unknown (no /proc), nothing changes.
 *
 * Strategies: 'adaptive' (this), 'spin' (never park while waiting: lowest
 * latency, a whole core per waiting process), 'block' (park at once: every
 * message pays a wake-up, zero CPU while waiting).
 */
export class AdaptiveSpin {
  static readonly FLOOR_US = 4;
  static readonly CEILING_US = 120;
  static readonly INITIAL_US = 50;
  static readonly LOAD_CHECK_MS = 50;
  readonly strategy: WaitStrategy;
  #budgetUs: number;
  #parkedAt = -1;
  readonly #runnable: () => number | null;
  readonly #cpus: number;
  #loadCheckAt = 0;
  #contended = false;
  #crowdedBefore = false;

  /** `runnable` and `cpus` describe the machine (replaceable for tests). */
  constructor(
    strategy: WaitStrategy,
    initialUs = AdaptiveSpin.INITIAL_US,
    runnable: () => number | null = runnableThreads,
    cpus: number = availableParallelism(),
  ) {
    this.strategy = strategy;
    this.#budgetUs = strategy === 'block' ? 0 : initialUs;
    this.#runnable = runnable;
    this.#cpus = cpus;
  }

  /** Microseconds to spin now; Infinity for 'spin', 0 for 'block'. */
  get budgetUs(): number {
    if (this.strategy === 'spin') return Number.POSITIVE_INFINITY;
    return this.#contended ? AdaptiveSpin.FLOOR_US : this.#budgetUs;
  }

  /** budgetUs, after refreshing the oversubscription check if it is due at `nowMs`. */
  budgetAt(nowMs: number): number {
    if (this.strategy === 'adaptive' && nowMs >= this.#loadCheckAt) {
      this.#loadCheckAt = nowMs + AdaptiveSpin.LOAD_CHECK_MS;
      // Two runnable threads beyond the CPUs, twice in a row: one extra is
      // routine (a timer firing, a GC helper, the kernel's own threads).
      const runnable = this.#runnable();
      const crowded = runnable !== null && runnable > this.#cpus + 1;
      this.#contended = crowded && this.#crowdedBefore;
      this.#crowdedBefore = crowded;
    }
    return this.budgetUs;
  }

  /** Whether the machine counts as oversubscribed (see the class comment). */
  get contended(): boolean {
    return this.#contended;
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
