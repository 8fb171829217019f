// The traffic of the ConcurrentSpscRingBuffer scenarios, shared by the
// producer and consumer processes (and the CLI, which owns the control block).
//
// Every message is self-describing, so the consumer can classify each one on
// its own (no shared size stream to fall out of step with):
//   bytes 0..3  sequence number (u32 LE)
//   bytes 4..7  checksum: FNV-1a of bytes 8.., mixed with the sequence number and the size
//   bytes 8..   pattern derived from the sequence number
// and its size is a function of (seed, sequence number): 8..72 bytes 31 times
// in 32, else up to maxMessageSize.

/** The control block before the ring: i32 words. */
export const CONTROL_BYTES = 64;
export const STOP = 0;
export const PRODUCER_DONE = 1;
export const CONSUMER_READY = 2;
/** Messages produced so far (low, high u32 words; updated in steps, final when PRODUCER_DONE). */
export const PRODUCED_LO = 4;
export const PRODUCED_HI = 5;
export const CONSUMED_LO = 6;
export const CONSUMED_HI = 7;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
export const MIN_MESSAGE = 8;

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export function sizeFor(seed: number, seq: number, maxMessageSize: number): number {
  const h = mix((seq ^ seed) >>> 0);
  const small = Math.min(64, maxMessageSize - MIN_MESSAGE) + 1;
  const large = maxMessageSize - (MIN_MESSAGE + 64);
  if (large > 0 && (h & 31) === 0) return MIN_MESSAGE + 65 + ((h >>> 5) % large);
  return MIN_MESSAGE + ((h >>> 5) % small);
}

function seal(h: number, seq: number, size: number): number {
  return mix((h ^ Math.imul(seq, 0x9e3779b1) ^ size) >>> 0);
}

/** Writes message `seq` into `view` (its length is the size); returns its checksum. */
export function fillMessage(view: Uint8Array, seq: number): number {
  const size = view.length;
  const x = Math.imul(seq + 1, 0x9e3779b1);
  let h = FNV_OFFSET;
  for (let i = 8; i < size; i++) {
    const b = ((x >>> ((i & 3) << 3)) + i) & 255;
    view[i] = b;
    h = Math.imul(h ^ b, FNV_PRIME);
  }
  const check = seal(h >>> 0, seq, size);
  view[0] = seq & 255;
  view[1] = (seq >>> 8) & 255;
  view[2] = (seq >>> 16) & 255;
  view[3] = (seq >>> 24) & 255;
  view[4] = check & 255;
  view[5] = (check >>> 8) & 255;
  view[6] = (check >>> 16) & 255;
  view[7] = (check >>> 24) & 255;
  return check;
}

/** The sequence number a message claims, or -1 when its checksum does not hold (torn or corrupt). */
export function readMessage(view: Uint8Array): number {
  const size = view.length;
  if (size < MIN_MESSAGE) return -1;
  let h = FNV_OFFSET;
  for (let i = 8; i < size; i++) h = Math.imul(h ^ view[i]!, FNV_PRIME);
  const seq = (view[0]! | (view[1]! << 8) | (view[2]! << 16) | (view[3]! << 24)) >>> 0;
  const stored = (view[4]! | (view[5]! << 8) | (view[6]! << 16) | (view[7]! << 24)) >>> 0;
  return stored === seal(h >>> 0, seq, size) ? seq : -1;
}

export function readCount(control: Int32Array, lo: number): number {
  return (Atomics.load(control, lo + 1) >>> 0) * 0x100000000 + (Atomics.load(control, lo) >>> 0);
}

export function writeCount(control: Int32Array, lo: number, value: number): void {
  Atomics.store(control, lo + 1, Math.floor(value / 0x100000000) | 0);
  Atomics.store(control, lo, value >>> 0);
}

export function fold(digest: number, checksum: number): number {
  return Math.imul(digest ^ checksum, FNV_PRIME) >>> 0;
}

export { FNV_OFFSET };
