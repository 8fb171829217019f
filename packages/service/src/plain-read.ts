/** The reading half of the plain fast path (see plain-format.ts). */
// Imported, not the global: Node's global Buffer is a getter (~8 ns a read), and this runs per field.
import { Buffer } from 'node:buffer';
import { noteFreshReplyMemory, replyMemory } from '@phoenix-ipc/client/internal';
import {
  MAX_DEPTH,
  readFloat32,
  readFloat64,
  readUint16,
  readUint32,
  TYPED_ARRAY_EXTENSION,
  UINT8_ARRAY_KIND,
  utf8Slice,
} from './plain-format.js';

/** Returned by decodePlain when the message is not plain msgpack (or not well-formed). */
export const NOT_PLAIN: unique symbol = Symbol('not plain msgpack');

// The message being read (module state, like msgpackr's: faster than an object's fields): the
// view it came in, read by index, never through its `.buffer` (see plain-format.ts).
let sourceBuffer: Uint8Array = new Uint8Array(0);
let sourcePosition = 0;
let sourceEnd = 0;
// decodePlainCopying: binary values are copies, not views of the message.
let copyBinary = false;
// Set by every failure (notPlain()): the readers test this flag, not their
// results against NOT_PLAIN, because a comparison of values of every type
// with a symbol is a generic StrictEqual call each time.
let failed = false;

function notPlain(): typeof NOT_PLAIN {
  failed = true;
  return NOT_PLAIN;
}

const fromCharCode = String.fromCharCode;

function readString(length: number): string | typeof NOT_PLAIN {
  const start = sourcePosition;
  const end = start + length;
  if (length < 0 || end > sourceEnd) return notPlain();
  sourcePosition = end;
  const buffer = sourceBuffer;
  if (length <= 8) {
    // Short ASCII (most keys, many values): one fromCharCode call, no
    // slice. latin1Slice crosses into C++ (measured: 17% of decoding
    // { id, name: 'widget', tags: ['alpha', 'beta'] } when it took 5 to 8).
    let ascii = 0;
    for (let i = start; i < end; i++) ascii |= buffer[i]!;
    if (ascii < 0x80) {
      const b = buffer;
      const s = start;
      switch (length) {
        case 0:
          return '';
        case 1:
          return fromCharCode(b[s]!);
        case 2:
          return fromCharCode(b[s]!, b[s + 1]!);
        case 3:
          return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!);
        case 4:
          return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
        case 5:
          return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
        case 6:
          return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
        case 7:
          return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
        default:
          return fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
      }
    }
  }
  return utf8Slice.call(buffer, start, end);
}

function readLength(bytes: 1 | 2 | 4): number {
  const position = sourcePosition;
  if (position + bytes > sourceEnd) return -1;
  sourcePosition = position + bytes;
  if (bytes === 1) return sourceBuffer[position]!;
  return bytes === 2 ? readUint16(sourceBuffer, position) : readUint32(sourceBuffer, position);
}

function readArray(length: number, depth: number): unknown {
  // Each element takes at least a byte: a longer claim is not well-formed.
  if (length < 0 || length > sourceEnd - sourcePosition) return notPlain();
  const array = new Array(length);
  for (let i = 0; i < length; i++) {
    const item = readValue(depth + 1);
    if (failed) return NOT_PLAIN;
    array[i] = item;
  }
  return array;
}

// Object keys repeat from message to message: short ASCII keys come from a
// cache, the same string each time (V8 then finds the property without
// hashing a new string).
interface CachedKey {
  low: number;
  high: number;
  length: number;
  key: string;
}
const KEY_CACHE: (CachedKey | undefined)[] = new Array(4096);

function readKey(length: number): string | typeof NOT_PLAIN {
  const start = sourcePosition;
  if (length > 8 || start + length > sourceEnd) return readString(length);
  const buffer = sourceBuffer;
  let low = 0;
  let high = 0;
  for (let i = 0; i < length; i++) {
    const byte = buffer[start + i]!;
    if (byte >= 0x80) return readString(length);
    if (i < 4) low |= byte << (i * 8);
    else high |= byte << ((i - 4) * 8);
  }
  const slot = (Math.imul(low, 31) ^ Math.imul(high, 17) ^ length) & 4095;
  const cached = KEY_CACHE[slot];
  if (cached !== undefined && cached.low === low && cached.high === high && cached.length === length) {
    sourcePosition = start + length;
    return cached.key;
  }
  const key = readString(length);
  if (!failed) KEY_CACHE[slot] = { low, high, length, key: key as string };
  return key;
}

function readObject(length: number, depth: number): unknown {
  if (length < 0 || length > (sourceEnd - sourcePosition) / 2) return notPlain();
  const object: Record<string, unknown> = {};
  for (let i = 0; i < length; i++) {
    if (sourcePosition >= sourceEnd) return notPlain();
    const head = sourceBuffer[sourcePosition++]!;
    let key: string | typeof NOT_PLAIN;
    if (head >= 0xa0 && head <= 0xbf) key = readKey(head & 0x1f);
    else if (head === 0xd9) key = readString(readLength(1));
    else return notPlain(); // keys other than short strings: leave it to msgpackr
    if (failed) return NOT_PLAIN;
    const name = key as string; // not NOT_PLAIN: the flag says so
    const value = readValue(depth + 1);
    if (failed) return NOT_PLAIN;
    // As msgpackr does: never let a message set an object's prototype.
    object[name === '__proto__' ? '__proto_' : name] = value;
  }
  return object;
}

// Zero copy: a Buffer view of the message's memory (in shared memory on the worker side).
function readBin(length: number): unknown {
  const start = sourcePosition;
  if (length < 0 || start + length > sourceEnd) return notPlain();
  sourcePosition = start + length;
  if (copyBinary) return copied(start, length, true);
  const source = sourceBuffer;
  return Buffer.from(source.buffer, source.byteOffset + start, length);
}

// A copy of message bytes: a Buffer, or a plain Uint8Array over the same memory.
function copied(start: number, length: number, asBuffer: boolean): Uint8Array {
  // A big copy is fresh external memory, as a raw call's reply is (see the client's reply-memory-gc.ts); when big
  // values come in one size, the client readied it while waiting for the reply (its warm-reply-buffer.ts).
  noteFreshReplyMemory(length);
  const copy = replyMemory.take(length);
  copy.set(sourceBuffer.subarray(start, start + length));
  return asBuffer ? copy : new Uint8Array(copy.buffer, copy.byteOffset, length);
}

// msgpackr's typed-array extension: only Uint8Arrays (a view, zero copy); other kinds are msgpackr's.
function readTypedArray(size: number): unknown {
  const start = sourcePosition;
  if (size < 1 || start + 1 + size > sourceEnd) return notPlain();
  if (sourceBuffer[start] !== TYPED_ARRAY_EXTENSION || sourceBuffer[start + 1] !== UINT8_ARRAY_KIND) return notPlain();
  sourcePosition = start + 1 + size;
  if (copyBinary) return copied(start + 2, size - 1, false);
  return new Uint8Array(sourceBuffer.buffer, sourceBuffer.byteOffset + start + 2, size - 1);
}

// Bytes after the head of the fixed-size values this reader knows (float32/64, uint8-32, int8-32), from 0xc0.
const FIXED_SIZE = new Uint8Array(0x20);
FIXED_SIZE.set([4, 8, 1, 2, 4], 0xca - 0xc0);
FIXED_SIZE.set([1, 2, 4], 0xd0 - 0xc0);

function readValue(depth: number): unknown {
  if (sourcePosition >= sourceEnd || depth > MAX_DEPTH) return notPlain();
  const position = sourcePosition;
  const head = sourceBuffer[position]!;
  sourcePosition = position + 1;
  if (head < 0x80) return head;
  if (head >= 0xe0) return head - 0x100;
  if (head >= 0xa0 && head <= 0xbf) return readString(head & 0x1f);
  if (head >= 0x90 && head <= 0x9f) return readArray(head & 0x0f, depth);
  if (head <= 0x8f) return readObject(head & 0x0f, depth);
  const bytes = sourceBuffer;
  // Fixed-size values: the bytes after the head must be there.
  const size = FIXED_SIZE[head - 0xc0]!;
  if (size > 0) {
    if (position + 1 + size > sourceEnd) return notPlain();
    sourcePosition = position + 1 + size;
  }
  switch (head) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xca:
      return readFloat32(bytes, position + 1);
    case 0xcb:
      return readFloat64(bytes, position + 1);
    case 0xcc:
      return bytes[position + 1]!;
    case 0xcd:
      return readUint16(bytes, position + 1);
    case 0xce:
      return readUint32(bytes, position + 1);
    case 0xd0:
      return (bytes[position + 1]! << 24) >> 24;
    case 0xd1:
      return (readUint16(bytes, position + 1) << 16) >> 16;
    case 0xd2:
      return readUint32(bytes, position + 1) | 0;
    case 0xd9:
      return readString(readLength(1));
    case 0xda:
      return readString(readLength(2));
    case 0xdb:
      return readString(readLength(4));
    case 0xdc:
      return readArray(readLength(2), depth);
    case 0xdd:
      return readArray(readLength(4), depth);
    case 0xde:
      return readObject(readLength(2), depth);
    case 0xdf:
      return readObject(readLength(4), depth);
    case 0xc4:
      return readBin(readLength(1));
    case 0xc5:
      return readBin(readLength(2));
    case 0xc6:
      return readBin(readLength(4));
    case 0xc7:
      return readTypedArray(readLength(1));
    case 0xc8:
      return readTypedArray(readLength(2));
    case 0xc9:
      return readTypedArray(readLength(4));
    default:
      return notPlain(); // other extensions, 64-bit integers, 0xc1: msgpackr's
  }
}

/**
 * The value of the message bytes[start, end), or NOT_PLAIN if it holds
 * anything outside the plain subset or is not well-formed. Binary values are
 * views of the message.
 */
export function decodePlain(bytes: Uint8Array, start: number, end: number): unknown {
  copyBinary = false;
  return readMessage(bytes, start, end);
}

/** Like decodePlain, but binary values are copies: the value keeps no view of the message. */
export function decodePlainCopying(bytes: Uint8Array, start: number, end: number): unknown {
  copyBinary = true;
  return readMessage(bytes, start, end);
}

function readMessage(bytes: Uint8Array, start: number, end: number): unknown {
  sourceBuffer = bytes;
  sourcePosition = start;
  sourceEnd = end;
  failed = false;
  const value = readValue(0);
  return !failed && sourcePosition === end ? value : NOT_PLAIN;
}
