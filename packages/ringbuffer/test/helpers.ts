import { RingDescriptor, type RingOptions, SpscRingBuffer } from '../src/index.js';

export const {
  HEADER_BYTES,
  MAGIC_OFFSET,
  VERSION_OFFSET,
  CAPACITY_OFFSET,
  MAX_MESSAGE_SIZE_OFFSET,
  DATA_BYTES_OFFSET,
  CHECK_OFFSET,
  TAIL_BYTES_OFFSET,
  TAIL_COUNT_OFFSET,
  HEAD_BYTES_OFFSET,
  HEAD_COUNT_OFFSET,
  RECORD_HEADER_BYTES,
  RECORD_TYPE_MESSAGE,
  RECORD_TYPE_PADDING,
} = RingDescriptor;

/** A fresh ring at `byteOffset` of a buffer that is exactly large enough (plus `slack` bytes after it). */
export function makeRing(
  options: RingOptions,
  { byteOffset = 0, shared = false, slack = 0 }: { byteOffset?: number; shared?: boolean; slack?: number } = {},
): SpscRingBuffer {
  const bytes = byteOffset + SpscRingBuffer.requiredBytes(options) + slack;
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  return SpscRingBuffer.format(buffer, byteOffset, options);
}

/** Deterministic content: message `tag` of `length` bytes. */
export function message(length: number, tag = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (tag * 31 + i * 7 + 1) & 255;
  return bytes;
}

/** Reads a header field (u32) of the ring at `byteOffset`. */
export function readHeader(buffer: ArrayBufferLike, byteOffset: number, fieldOffset: number): number {
  return new DataView(buffer).getUint32(byteOffset + fieldOffset, true);
}

/** Writes a header field (u32) of the ring at `byteOffset`. */
export function writeHeader(buffer: ArrayBufferLike, byteOffset: number, fieldOffset: number, value: number): void {
  new DataView(buffer).setUint32(byteOffset + fieldOffset, value >>> 0, true);
}

/** Rewrites the config line's check word so that it matches the (possibly edited) config fields. */
export function fixCheckWord(buffer: ArrayBufferLike, byteOffset: number): void {
  const capacity = readHeader(buffer, byteOffset, CAPACITY_OFFSET) | 0;
  const maxMessageSize = readHeader(buffer, byteOffset, MAX_MESSAGE_SIZE_OFFSET) | 0;
  const dataBytes = readHeader(buffer, byteOffset, DATA_BYTES_OFFSET) | 0;
  writeHeader(buffer, byteOffset, CHECK_OFFSET, RingDescriptor.configCheck(capacity, maxMessageSize, dataBytes));
}

/** Sets all four published indices of an empty or consistent ring. */
export function writeIndices(
  buffer: ArrayBufferLike,
  byteOffset: number,
  indices: { headBytes: number; tailBytes: number; headCount: number; tailCount: number },
): void {
  writeHeader(buffer, byteOffset, HEAD_BYTES_OFFSET, indices.headBytes);
  writeHeader(buffer, byteOffset, TAIL_BYTES_OFFSET, indices.tailBytes);
  writeHeader(buffer, byteOffset, HEAD_COUNT_OFFSET, indices.headCount);
  writeHeader(buffer, byteOffset, TAIL_COUNT_OFFSET, indices.tailCount);
}

/** Pops everything, returning copies of the payloads. */
export function drain(ring: SpscRingBuffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let view = ring.peek(); view !== null; view = ring.peek()) {
    out.push(view.slice());
    ring.pop();
  }
  return out;
}

/** Moves an empty ring's head and tail forward by `bytes` (a multiple of 8) with zero-length messages. */
export function advanceEmptyRing(ring: SpscRingBuffer, bytes: number): void {
  const empty = new Uint8Array(0);
  for (let moved = 0; moved < bytes; moved += RECORD_HEADER_BYTES) {
    if (!ring.push(empty) || !ring.pop()) throw new Error(`could not move an empty ring by ${moved} bytes`);
  }
}

/** The data region of a ring as i32 words (word 0 = the first record's length). */
export function dataWords(ring: SpscRingBuffer): Int32Array {
  return new Int32Array(ring.buffer, ring.byteOffset + HEADER_BYTES, ring.dataBytes >> 2);
}
