/**
 * Up to this many bytes a byte loop copies: as fast as set() at this size,
 * and set() would need a subarray, a view object per copy (~90 B of garbage).
 */
export const SMALL_COPY_BYTES = 64;

/**
 * Copies `length` bytes of `source` from `sourceStart` into `target` at
 * `targetStart`: the one copy of a reply's bytes, out of the response ring
 * (the reply reader) or into it (a worker's copied replies).
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
