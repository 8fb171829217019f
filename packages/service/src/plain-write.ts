/** The writing half of the plain fast path (see plain-format.ts). */
import { Buffer } from 'node:buffer';
import {
  MAX_DEPTH,
  TYPED_ARRAY_EXTENSION,
  UINT8_ARRAY_KIND,
  utf8Write,
  writeFloat64,
  writeUint16,
  writeUint32,
} from './plain-format.js';

// The value being written (module state, like msgpackr's: faster than an object's fields): the
// view it goes into, written by index, never through its `.buffer` (see plain-format.ts).
let out: Uint8Array = new Uint8Array(0);
let outPosition = 0;
let outEnd = 0;
// Gathering (encodePlainGathering): binary values of at least gatherFrom bytes are
// not copied; their header is written and they are noted here, by reference,
// with where in the output they belong.
// (A count, not the arrays' lengths: setting an array's length is a runtime call.)
let gatherFrom = Number.POSITIVE_INFINITY;
let gatheredCount = 0;
const gathered: (Uint8Array | undefined)[] = [];
const gatheredAt: number[] = [];

/** Drops the references to the caller's binary values. */
function forgetGathered(): void {
  for (let i = 0; i < gatheredCount; i++) gathered[i] = undefined;
  gatheredCount = 0;
}

// Writes a string: ASCII up to 31 characters byte by byte, anything else with utf8Write.
function writeString(text: string): boolean {
  const length = text.length;
  let position = outPosition;
  if (length < 32) {
    if (position + 1 + length > outEnd) return false;
    out[position++] = 0xa0 | length;
    let ascii = true;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) {
        ascii = false;
        break;
      }
      out[position++] = code;
    }
    if (ascii) {
      outPosition = position;
      return true;
    }
    position = outPosition;
  }
  const most = length * 3;
  const header = most < 0x100 ? 2 : most < 0x10000 ? 3 : 5;
  if (position + header + most > outEnd) return false;
  const written = utf8Write.call(out, text, position + header, most);
  if (header === 2) {
    out[position] = 0xd9;
    out[position + 1] = written;
  } else if (header === 3) {
    out[position] = 0xda;
    writeUint16(out, position + 1, written);
  } else {
    out[position] = 0xdb;
    writeUint32(out, position + 1, written);
  }
  outPosition = position + header + written;
  return true;
}

function writeNumber(value: number): boolean {
  const position = outPosition;
  if (position + 9 > outEnd) return false;
  // -0 passes as an integer (-0 === 0) but would arrive as 0: it goes to float64 below.
  if ((value | 0) === value && (value !== 0 || 1 / value > 0)) {
    if (value >= 0 && value < 0x80) {
      out[position] = value;
      outPosition = position + 1;
    } else if (value < 0 && value >= -32) {
      out[position] = value & 0xff;
      outPosition = position + 1;
    } else {
      out[position] = 0xd2;
      writeUint32(out, position + 1, value);
      outPosition = position + 5;
    }
    return true;
  }
  // Other integers, fractions, -0, NaN and the infinities: float64, exact (msgpackr's, but for -0).
  out[position] = 0xcb;
  writeFloat64(out, position + 1, value);
  outPosition = position + 9;
  return true;
}

function writeValue(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      // Small non-negative integers, the commonest numbers: one byte, no call. (Not -0: writeNumber keeps its sign.)
      if (
        value >= 0 &&
        value < 0x80 &&
        (value | 0) === value &&
        outPosition < outEnd &&
        (value !== 0 || 1 / value > 0)
      ) {
        out[outPosition++] = value;
        return true;
      }
      return writeNumber(value);
    case 'boolean':
      if (outPosition >= outEnd) return false;
      out[outPosition++] = value ? 0xc3 : 0xc2;
      return true;
    case 'object': {
      if (value === null) {
        if (outPosition >= outEnd) return false;
        out[outPosition++] = 0xc0;
        return true;
      }
      if (depth >= MAX_DEPTH) return false;
      // The constructor, as msgpackr looks at it (an inline-cached load; getPrototypeOf is a call).
      const type = (value as { constructor?: unknown }).constructor;
      if (type === Object) return writeObject(value as Record<string, unknown>, depth);
      if (type === Array) return writeArray(value as unknown[], depth);
      if (type === Uint8Array) return writeBytes(value as Uint8Array, false);
      if (type === Buffer) return writeBytes(value as Buffer, true);
      return false;
    }
    default:
      return false;
  }
}

// Bytes as msgpackr writes them: a Buffer as msgpack bin, a Uint8Array as
// msgpackr's typed-array extension ('t', kind 1). Both are raw bytes.
function writeBytes(bytes: Uint8Array, isBuffer: boolean): boolean {
  const length = bytes.length;
  const gather = length >= gatherFrom;
  let position = outPosition;
  if (position + 6 + (gather ? 0 : length) > outEnd) return false;
  if (isBuffer) {
    if (length < 0x100) {
      out[position++] = 0xc4;
      out[position++] = length;
    } else if (length < 0x10000) {
      out[position++] = 0xc5;
      writeUint16(out, position, length);
      position += 2;
    } else {
      out[position++] = 0xc6;
      writeUint32(out, position, length);
      position += 4;
    }
  } else {
    const size = length + 1; // the kind byte counts
    if (size < 0x100) {
      out[position++] = 0xc7;
      out[position++] = size;
    } else if (size < 0x10000) {
      out[position++] = 0xc8;
      writeUint16(out, position, size);
      position += 2;
    } else {
      out[position++] = 0xc9;
      writeUint32(out, position, size);
      position += 4;
    }
    out[position++] = TYPED_ARRAY_EXTENSION;
    out[position++] = UINT8_ARRAY_KIND;
  }
  if (gather) {
    gathered[gatheredCount] = bytes;
    gatheredAt[gatheredCount] = position;
    gatheredCount++;
    outPosition = position;
    return true;
  }
  out.set(bytes, position);
  outPosition = position + length;
  return true;
}

function writeArray(array: unknown[], depth: number): boolean {
  const length = array.length;
  const position = outPosition;
  if (length < 16) {
    if (position + 1 > outEnd) return false;
    out[position] = 0x90 | length;
    outPosition = position + 1;
  } else {
    if (position + 5 > outEnd) return false;
    out[position] = 0xdd;
    writeUint32(out, position + 1, length);
    outPosition = position + 5;
  }
  for (let i = 0; i < length; i++) if (!writeValue(array[i], depth + 1)) return false;
  return true;
}

function writeObject(object: Record<string, unknown>, depth: number): boolean {
  const keys = Object.keys(object);
  const count = keys.length;
  const position = outPosition;
  if (count < 16) {
    if (position + 1 > outEnd) return false;
    out[position] = 0x80 | count;
    outPosition = position + 1;
  } else {
    if (count > 0xffff || position + 3 > outEnd) return false;
    out[position] = 0xde;
    writeUint16(out, position + 1, count);
    outPosition = position + 3;
  }
  for (let i = 0; i < count; i++) {
    const key = keys[i]!;
    const value = object[key];
    if (value === undefined) return false; // msgpackr's: it keeps undefined apart from null
    if (!writeString(key) || !writeValue(value, depth + 1)) return false;
  }
  return true;
}

/**
 * Writes `value` into bytes[start, end); returns where it ends, or -1 if it
 * is not plain or does not fit (what was written is then garbage).
 */
export function encodePlain(bytes: Uint8Array, start: number, end: number, value: unknown): number {
  return encodePlainGathering(bytes, start, end, value, Number.POSITIVE_INFINITY);
}

/**
 * Like encodePlain, but binary values of at least `from` bytes are left out
 * of buffer (only their msgpack header is written) and noted by reference;
 * gatheredParts() then gives the encoding in parts. Returns where the
 * written bytes end, or -1.
 */
export function encodePlainGathering(
  bytes: Uint8Array,
  start: number,
  end: number,
  value: unknown,
  from: number,
): number {
  // Set on every call (no try/finally to restore it if a getter throws).
  if (gatheredCount > 0) forgetGathered();
  gatherFrom = from;
  out = bytes;
  outPosition = start;
  outEnd = end;
  if (writeValue(value, 0)) return outPosition;
  // Not plain: msgpackr encodes it whole; keep no reference to the caller's bytes.
  if (gatheredCount > 0) forgetGathered();
  return -1;
}

/**
 * The encoding of the last encodePlainGathering, buffer[start, end), in
 * parts: views of buffer between the binary values it left out, and those
 * values themselves. Null if it left none out (the bytes are the encoding).
 */
export function gatheredParts(buffer: Uint8Array, start: number, end: number): Uint8Array[] | null {
  if (gatheredCount === 0) return null;
  const parts: Uint8Array[] = [];
  let from = start;
  for (let i = 0; i < gatheredCount; i++) {
    const at = gatheredAt[i]!;
    parts.push(new Uint8Array(buffer.buffer, buffer.byteOffset + from, at - from), gathered[i]!);
    from = at;
  }
  if (end > from) parts.push(new Uint8Array(buffer.buffer, buffer.byteOffset + from, end - from));
  forgetGathered();
  return parts;
}
