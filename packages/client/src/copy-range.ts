/**
 * Up to this many bytes a byte loop copies: as fast as set() at this size,
 * and set() would need a subarray, a view object per copy (~90 B of garbage).
 */
export const SMALL_COPY_BYTES = 64;

/**
 * Copies `length` bytes of `source` from `sourceStart` into `target` at
 * `targetStart`: the one copy of a reply's bytes, out of the response ring
 * (the reply reader) or into it (a worker's copied replies). The functions
 * after it are the caller's copies into and out of the segment, small ones a
 * word at a time.
 */
export function copyRange(
  target: Uint8Array,
  targetStart: number,
  source: Uint8Array,
  sourceStart: number,
  length: number,
): void {
  if (length <= SMALL_COPY_BYTES) {
    for (let i = 0; i < length; i++) target[targetStart + i] = source[sourceStart + i]!;
  } else {
    target.set(source.subarray(sourceStart, sourceStart + length), targetStart);
  }
}

/**
 * `source` (at most SMALL_COPY_BYTES) into the segment at a word-aligned
 * `at`, four bytes per store: a request's payload. Why: the lines a caller
 * writes its requests into were last written by the worker (a request's
 * TAKEN and DONE words), so each store waits in the store buffer until its
 * line has come back. A byte per store put sixteen entries there for a 16 B
 * payload, and the buffer filled while the lines of a burst were on their
 * way. Measured, pipelined 16 B callAsync x64, two client builds taking turns
 * on one worker, twelve runs in both orders: geometric mean +2.1%, 9 of 12
 * favourable (forty-first session). Words are host order and the layout
 * refuses hosts that are not little-endian, so byte i still lands at
 * `at + i`.
 */
export function writeSmallToSegment(words: Int32Array, bytes: Uint8Array, at: number, source: Uint8Array): void {
  const length = source.length;
  let i = 0;
  for (const whole = length & ~3; i < whole; i += 4) {
    words[(at + i) >> 2] = source[i]! | (source[i + 1]! << 8) | (source[i + 2]! << 16) | (source[i + 3]! << 24);
  }
  for (; i < length; i++) bytes[at + i] = source[i]!;
}

/**
 * `length` bytes of the segment from `start` into the start of `target`: a
 * reply's payload. Up to SMALL_COPY_BYTES at a word-aligned `start`, four
 * bytes per load: the loads go to the lines the worker has just written,
 * which the first of them brings over; fewer loads wait behind it. Measured,
 * pipelined 16 B callAsync x64, two client builds taking turns on one worker,
 * ten runs in both orders: geometric mean +2.4%, 8 of 10 favourable
 * (forty-first session).
 */
export function copyFromSegment(
  target: Uint8Array,
  words: Int32Array,
  bytes: Uint8Array,
  start: number,
  length: number,
): void {
  if (length > SMALL_COPY_BYTES || (start & 3) !== 0) {
    copyRange(target, 0, bytes, start, length);
    return;
  }
  let i = 0;
  for (const whole = length & ~3; i < whole; i += 4) {
    const word = words[(start + i) >> 2]!;
    target[i] = word;
    target[i + 1] = word >> 8;
    target[i + 2] = word >> 16;
    target[i + 3] = word >> 24;
  }
  for (; i < length; i++) target[i] = bytes[start + i]!;
}
