// The two msgpackr extensions the service codec registers (see
// msgpack-codec.ts for why): Maps with keys of any type, and a typed-array
// reader that returns Uint8Arrays as views of the message instead of copies.
import { addExtension } from 'msgpackr';

const MAP_EXTENSION = 0x6d; // 'm': [key, value, key, value, ...]
const TYPED_ARRAY_EXTENSION = 0x74; // msgpackr's own 't'
const UINT8_ARRAY = 1;
const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;
const ARRAY_BUFFER = 16;
const DATA_VIEW = 17;

function readTypedArray(data: Uint8Array): unknown {
  const kind = data[0]!;
  // Zero copy: a view of the message (in shared memory on the worker side).
  if (kind === UINT8_ARRAY) return new Uint8Array(data.buffer, data.byteOffset + 1, data.length - 1);
  // Wider element types need an aligned buffer of their own: copy.
  const aligned = Uint8Array.prototype.slice.call(data, 1).buffer;
  if (kind === ARRAY_BUFFER) return aligned;
  if (kind === DATA_VIEW) return new DataView(aligned);
  const TypedArray = TYPED_ARRAYS[kind];
  if (TypedArray === undefined) throw new Error(`unknown typed array kind ${kind}`);
  return new TypedArray(aligned);
}

type Allocate = (size: number) => { target: Uint8Array; position: number; targetView: DataView };

// A tag (fixext 1, type 'm'), then an array of 2 × size: keys and values in turn.
function writeMap(map: Map<unknown, unknown>, allocate: Allocate, pack: (value: unknown) => void): void {
  const length = map.size * 2;
  if (length < 16) {
    const { target, position } = allocate(4);
    target.set([0xd4, MAP_EXTENSION, 0, 0x90 | length], position);
  } else if (length < 0x10000) {
    const { target, position } = allocate(6);
    target.set([0xd4, MAP_EXTENSION, 0, 0xdc, length >> 8, length & 0xff], position);
  } else {
    const { target, position, targetView } = allocate(8);
    target.set([0xd4, MAP_EXTENSION, 0, 0xdd], position);
    targetView.setUint32(position + 4, length);
  }
  for (const [key, value] of map) {
    pack(key);
    pack(value);
  }
}

function readMap(entries: unknown): Map<unknown, unknown> {
  if (!Array.isArray(entries) || entries.length % 2 !== 0) throw new Error('a Map extension without key/value pairs');
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < entries.length; i += 2) map.set(entries[i], entries[i + 1]);
  return map;
}

let installed = false;
/** Registers both extensions with the bundled msgpackr, once. */
export function installExtensions(): void {
  if (installed) return;
  installed = true;
  addExtension({ type: TYPED_ARRAY_EXTENSION, unpack: readTypedArray });
  addExtension({ Class: Map, type: MAP_EXTENSION, pack: writeMap as never, read: readMap } as never);
}
