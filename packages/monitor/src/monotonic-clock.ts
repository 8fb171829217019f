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
const originMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();

export function monotonicNowMs(): number {
  return performance.now() + originMs;
}
