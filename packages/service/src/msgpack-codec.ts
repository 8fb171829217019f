import { addExtension, C1, Packr } from 'msgpackr';
import type { Codec } from './codec.js';

/*
 * msgpackr with { structuredClone: true }: objects, arrays, strings, numbers,
 * booleans, null and undefined (distinct), Date, Map, Set, BigInt of any size,
 * typed arrays, Error and RegExp, cycles and shared references all round-trip
 * (measured; adding useRecords: false would decode Maps as plain objects).
 * Objects travel as msgpackr records whose structure each message defines
 * itself: no state is shared between the two ends.
 *
 * Binary stays binary: a Buffer travels as msgpack `bin`, a Uint8Array as
 * msgpackr's typed-array extension, both as raw bytes (no base64). msgpackr
 * decodes `bin` as a view of its input already; its typed-array extension
 * copies (to align wider element types), so this codec registers its own
 * reader for that extension that returns Uint8Arrays as views and copies only
 * the wider types. msgpackr's extension table is global to its module, which
 * is why the build bundles a private copy of msgpackr into this package
 * (tsup.config.ts): nobody else's msgpackr is touched.
 */
const TYPED_ARRAY_EXTENSION = 0x74;
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

let installed = false;
function installExtensions(): void {
  if (installed) return;
  installed = true;
  addExtension({ type: TYPED_ARRAY_EXTENSION, unpack: readTypedArray });
}

// msgpackr writes into one output buffer kept in its module state. Every
// call here first points it where this call must write: encode at the free
// part of an arena of ours (earlier results in it are never written over,
// a full arena is replaced, not reused), encodeInto at the caller's target.
const ARENA_BYTES = 16 * 1024;
// msgpackr starts a fresh buffer itself when fewer than 2 KiB are left.
const ARENA_RESERVE = 2048 + 16;
let arena: Buffer | null = null;
let arenaUsed = 0;

/** msgpackr with structured cloning: the default codec of a service. */
export class MsgpackCodec implements Codec {
  readonly name = 'msgpackr';
  readonly #packr: Packr;

  constructor() {
    installExtensions();
    this.#packr = new Packr({ structuredClone: true });
  }

  encode(value: unknown): Uint8Array {
    const packr = this.#packr;
    if (arena === null || arena.length - arenaUsed < ARENA_RESERVE) {
      arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
      arenaUsed = 0;
    }
    packr.useBuffer(arena);
    packr.position = arenaUsed;
    const bytes = packr.pack(value);
    if (bytes.buffer === arena.buffer) arenaUsed = bytes.byteOffset + bytes.length;
    else arena = null; // msgpackr needed more room and moved on: ours may hold part of this value
    return bytes;
  }

  encodeInto(value: unknown, target: Uint8Array): Uint8Array {
    const packr = this.#packr;
    // msgpackr writes strings with Buffer#utf8Write: give it a Buffer view of target (no copy).
    packr.useBuffer(
      Buffer.isBuffer(target) ? target : Buffer.from(target.buffer, target.byteOffset, target.byteLength),
    );
    return packr.pack(value);
  }

  decode(bytes: Uint8Array): unknown {
    // bin decodes as a view of a Buffer input: make the input a Buffer view (no copy).
    const source = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const value: unknown = this.#packr.unpack(source);
    // msgpack's never-used byte 0xc1 decodes to a marker in msgpackr: garbage, not a value.
    if (value === C1) throw new Error('0xc1 is not a msgpack value');
    return value;
  }
}

/** The default codec (msgpackr, structured cloning). */
export const msgpackCodec: Codec = new MsgpackCodec();
