import { Buffer } from 'node:buffer';

/**
 * Shared by plain-write.ts and plain-read.ts: a fast path for the JSON-like
 * subset of msgpack (plain objects, arrays, strings, numbers, booleans and
 * null, plus Buffers and Uint8Arrays), the bulk of request/response values.
 * It writes and reads standard msgpack, the same bytes msgpackr reads and
 * writes for these values (objects as maps, no records), at about half
 * msgpackr's cost per small value (measured in apps/stress, `--filter
 * service`): no arena set-up, no extension lookups.
 *
 * Anything else (undefined, Date, Map, Set, BigInt, other typed arrays, class
 * instances, cycles, very deep values; other extensions and 64-bit integers
 * when reading) makes it give up, and the caller hands the whole value or
 * message to msgpackr. So do bytes that are not well-formed: msgpackr then
 * says why.
 */

export const MAX_DEPTH = 64;
export const TYPED_ARRAY_EXTENSION = 0x74; // msgpackr's 't'
export const UINT8_ARRAY_KIND = 1;

/**
 * Node's Buffer methods without argument checks (msgpackr uses them too).
 * They take any Uint8Array as `this` (Node 20 to 24): the reader and writer
 * call them on the very view they were given, whose `.buffer` they never
 * read (a call into C++, ~30 ns, three times per service call).
 */
type NodeBuffer = Buffer & {
  utf8Write(text: string, offset: number, length: number): number;
  utf8Slice(start: number, end: number): string;
};
export const utf8Write = (Buffer.prototype as NodeBuffer).utf8Write;
export const utf8Slice = (Buffer.prototype as NodeBuffer).utf8Slice;

// Floats go through these, big-endian on the wire as msgpack wants: the
// reader and writer work on a Uint8Array alone, with no DataView (making one
// needs its `.buffer`).
const float64 = new Float64Array(1);
const float32 = new Float32Array(1);
const float64Bytes = new Uint8Array(float64.buffer);
const float32Bytes = new Uint8Array(float32.buffer);
/** Index of wire byte i in a float's own bytes (this machine's byte order). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function readFloat64(bytes: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) float64Bytes[LITTLE_ENDIAN ? 7 - i : i] = bytes[at + i]!;
  return float64[0]!;
}

export function readFloat32(bytes: Uint8Array, at: number): number {
  for (let i = 0; i < 4; i++) float32Bytes[LITTLE_ENDIAN ? 3 - i : i] = bytes[at + i]!;
  return float32[0]!;
}

export function writeFloat64(bytes: Uint8Array, at: number, value: number): void {
  float64[0] = value;
  for (let i = 0; i < 8; i++) bytes[at + i] = float64Bytes[LITTLE_ENDIAN ? 7 - i : i]!;
}

/** Big-endian unsigned 16 and 32 bit integers. */
export function readUint16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

export function readUint32(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

export function writeUint16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value;
}

/** Also writes an int32 (the same four bytes). */
export function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}
