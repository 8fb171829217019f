/** Test helpers for copies into and out of shared memory. */

/** A segment's two views of one memory, as a caller has them, every byte 0xee. */
export function segmentViews(size: number): { bytes: Uint8Array; words: Int32Array } {
  const buffer = new SharedArrayBuffer(size);
  return { bytes: new Uint8Array(buffer).fill(0xee), words: new Int32Array(buffer) };
}

/** `length` bytes with the high bit set in every word, so that a sign lost in a word would show. */
export function markedBytes(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 37 + 0x81) & 0xff);
}
