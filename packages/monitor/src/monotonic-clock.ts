import { performance } from 'node:perf_hooks';

/**
 * Milliseconds on CLOCK_MONOTONIC, as a double with sub-microsecond precision.
 *
 * Every process on the machine reads the same CLOCK_MONOTONIC, so timestamps
 * and deadlines written into shared memory by one process mean the same thing
 * to every other (unlike `performance.now()`, whose origin is per process, or
 * `Date.now()`, which jumps when the wall clock is set). Node's
 * `process.hrtime` reads CLOCK_MONOTONIC; `performance.now()` is the same clock
 * shifted by this process's start, so we measure that shift once and then use
 * the allocation-free `performance.now()`.
 */
const originMs = measureOrigin();

// The shift between the two clocks, from the closest of a few bracketed
// readings. A single reading was ~50 µs off: the first performance.now() of
// a process is slow (it initialises lazily), and the error differed per
// process, which queue-wait times (one process's send time against
// another's start time) would carry.
function measureOrigin(): number {
  performance.now();
  let closest = Number.POSITIVE_INFINITY;
  let origin = 0;
  for (let i = 0; i < 5; i++) {
    const before = performance.now();
    const hrMs = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < closest) {
      closest = after - before;
      origin = hrMs - (before + after) / 2;
    }
  }
  return origin;
}

export function monotonicNowMs(): number {
  return performance.now() + originMs;
}
