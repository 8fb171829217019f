import { monotonicClockCell, readMonotonicClock, yieldProcessor } from '@phoenix-ipc/native-shm';

/**
 * Whether a spinning waiter gives its CPU away, learned from what its own
 * yields did. A yield pays when another thread is queued for this CPU (with
 * more busy processes than CPUs, often the very peer the spin waits for); it
 * is a wasted system call (~2 µs on a small VM, the time the spin notices
 * work late) when nobody is. The time a yield took tells the two apart: one
 * that gave the CPU away comes back after the other thread ran.
 *
 * Yielding stops after QUICK_IN_A_ROW quick yields; then one offer in
 * PROBE_EVERY still yields, and a slow one turns yielding back on. Measured
 * on 2 CPUs (docs/benchmarks-history.md): yielding at every offer raised 4 clients x 2
 * workers ~1.7x but cost the 64 KiB round trip 3-4 µs, where the peer has a
 * CPU of its own and every yield came back at once.
 */
export class CpuYield {
  /** A yield that took at least this long gave the CPU to another thread. */
  static readonly SWITCHED_US = 10;
  static readonly QUICK_IN_A_ROW = 4;
  static readonly PROBE_EVERY = 64;
  readonly #yield: () => void;
  readonly #nowMs: () => number;
  #quickInARow = 0;
  #skipped = 0;

  /** `yieldCpu` gives the CPU away (sched_yield) and `nowMs` reads the clock; both replaceable for tests. */
  constructor(yieldCpu: () => void = yieldProcessor, nowMs: () => number = nativeNowMs) {
    this.#yield = yieldCpu;
    this.#nowMs = nowMs;
  }

  /** Whether the last yields found someone to give the CPU to (or too few were quick to tell). */
  get paying(): boolean {
    return this.#quickInARow < CpuYield.QUICK_IN_A_ROW;
  }

  /** A spin has waited long enough that its peer may be queued behind it: yield if that pays, or to probe. */
  offer(): void {
    if (!this.paying && ++this.#skipped < CpuYield.PROBE_EVERY) return;
    this.#skipped = 0;
    const before = this.#nowMs();
    this.#yield();
    if ((this.#nowMs() - before) * 1000 >= CpuYield.SWITCHED_US) this.#quickInARow = 0;
    else this.#quickInARow++;
  }
}

// The native clock: performance.now() returns a fresh heap number per read.
function nativeNowMs(): number {
  readMonotonicClock();
  return monotonicClockCell[0]!;
}
