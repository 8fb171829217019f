import { Buffer } from 'node:buffer';
import { noteFreshReplyMemory } from '@phoenix-ipc/client/internal';
import { type Options, Packr } from 'msgpackr';
import type { Codec } from './codec.js';
import { refuseC1Marker } from './msgpack-c1.js';
import { installExtensions } from './msgpack-extensions.js';
import { decodePlain, decodePlainCopying, NOT_PLAIN } from './plain-read.js';
import { encodePlain, encodePlainGathering, gatheredParts } from './plain-write.js';
import { MAX_ENCODED_BYTES, refuseFunction, refuseObject, refuseSize } from './value-refusals.js';

/*
 * msgpackr, tuned for request/response values (measured in apps/stress,
 * `--filter service`):
 *
 *   { moreTypes: true, useRecords: false, useBigIntExtension: true }
 *
 * moreTypes keeps Set, typed arrays, Error and RegExp; BigInts of any size
 * round-trip; Date and `undefined` (distinct from null) always do; -0 stays
 * -0 (a float64; msgpackr would write 0). Values msgpackr would carry as
 * something else (functions, boxed primitives, SharedArrayBuffers) are
 * refused with ERR_PHOENIX_INVALID_ARGUMENT (value-refusals.ts). Objects
 * travel as plain msgpack maps: msgpackr's records, its default, define each
 * object shape inside every message when nothing is shared between the ends,
 * and cost about twice as much per call (measured). With plain maps msgpackr
 * would write a Map as a msgpack map too and decode it as an object ("with
 * useRecords: false, Map does not round-trip"), so Maps travel as an
 * extension of their own, keys of any type kept: the bundled msgpackr has a
 * one-line change for it (scripts/msgpackr-patches.ts). No shared state
 * between the two ends: every message decodes on its own, and objects are
 * standard msgpack maps any msgpack library reads.
 *
 * Binary stays binary: a Buffer travels as msgpack `bin`, a Uint8Array as
 * msgpackr's typed-array extension, both raw bytes. `bin` decodes as a view of
 * the input; msgpackr's typed-array reader copies (to align wider types), so
 * the codec registers its own reader that returns Uint8Arrays as views.
 *
 * Extensions are module state in msgpackr: the build bundles a private copy
 * of msgpackr into this package (tsup.config.ts), so these registrations reach
 * nobody else's msgpackr.
 *
 * Plain values (objects, arrays, strings, numbers, booleans, null, Buffers and
 * Uint8Arrays) skip msgpackr: plain-write.ts and plain-read.ts write and read
 * the very same bytes with less work per call. Everything else, and every
 * message they do not find well-formed, goes to msgpackr.
 */
// msgpackr writes into one output buffer kept in its module state. Every
// call here first points it where this call must write: encodeInto at the
// caller's target, encode at the free part of an arena of ours, after every
// result it handed out from it. A full arena is retired; once every result
// handed out from it has been released (release(), called by a bound service
// when its call has settled), it is reused instead of allocated anew, so
// steady traffic allocates no encoding memory (measured: a 64 KiB field
// costs 2.6 µs to encode into reused memory, 14 µs into fresh memory).
// Results nobody releases leave their arena to the garbage collector.
const ARENA_BYTES = 16 * 1024;
// msgpackr starts a fresh buffer itself when fewer than 2 KiB are left.
const ARENA_RESERVE = 2048 + 16;
const SPARE_ARENAS = 4;
// Larger arenas (made for a rare huge value) go to the garbage collector rather than wait as spares.
const SPARE_ARENA_BYTES = 1024 * 1024;

interface Arena {
  buffer: Buffer;
  used: number;
  /** Results handed out and not yet released. */
  leases: number;
  retired: boolean;
}

let arena: Arena | null = null;
const spares: Arena[] = [];
const arenas = new WeakMap<ArrayBufferLike, Arena>();

function newArena(buffer: Buffer, used: number): Arena {
  const fresh: Arena = {
    buffer,
    used,
    leases: 0,
    retired: false,
  };
  arenas.set(buffer.buffer, fresh);
  return fresh;
}

function retire(old: Arena): void {
  old.retired = true;
  if (old.leases === 0) spare(old);
}

function spare(old: Arena): void {
  if (spares.length >= SPARE_ARENAS || old.buffer.length > SPARE_ARENA_BYTES) return;
  old.used = 0;
  old.retired = false;
  // Largest last: the next arena is the largest spare.
  let at = spares.length;
  while (at > 0 && spares[at - 1]!.buffer.length > old.buffer.length) at--;
  spares.splice(at, 0, old);
}

// The size of the last value encoded: the next is expected to be about as large.
let lastSize = 0;

/** The arena with room for the next value (as large as the last one, or msgpackr's minimum). */
function currentArena(): Arena {
  const room = Math.max(ARENA_RESERVE, lastSize + (lastSize >> 3) + 64);
  if (arena !== null && arena.buffer.length - arena.used >= room) return arena;
  if (arena !== null) retire(arena);
  const largest = spares.at(-1);
  arena =
    largest !== undefined && largest.buffer.length >= room
      ? spares.pop()!
      : newArena(Buffer.allocUnsafeSlow(Math.max(ARENA_BYTES, Math.min(room * 4, room + SPARE_ARENA_BYTES))), 0);
  return arena;
}

// msgpackr decodes (and encodes in place) through one Buffer over the whole
// memory the bytes live in (the segment, or the pool slab of a small reply)
// with a start and an end: a new view per call would cost a Buffer each
// time. A few memories are remembered, most recent first: a worker that
// calls services reads the segment and the pool in turn. (The plain reader
// and writer need none of this: they work on the view they are given.)
interface Source {
  memory: ArrayBufferLike | null;
  buffer: Buffer;
}
const EMPTY: Source = { memory: null, buffer: Buffer.alloc(0) };
const sources: Source[] = [EMPTY, EMPTY, EMPTY, EMPTY];

function sourceOf(memory: ArrayBufferLike): Source {
  let found = sources[0]!;
  if (found.memory === memory && found.buffer.length > 0) return found;
  let at = 1;
  while (at < sources.length && (sources[at]!.memory !== memory || sources[at]!.buffer.length === 0)) at++;
  if (at < sources.length) found = sources[at]!;
  else {
    at = sources.length - 1;
    found = { memory, buffer: Buffer.from(memory, 0, memory.byteLength) };
  }
  sources.copyWithin(1, 0, at);
  sources[0] = found;
  return found;
}

const range = { start: 0, end: 0 };

// Small messages without binary values are copied to the start of a scratch
// buffer first: msgpackr caches object keys only for sources shorter than 180
// bytes (its srcEnd), and a view into a segment ends far beyond that. Safe
// because such a message decodes to nothing that points into its bytes.
const SMALL_MESSAGE = 160;
const scratch = Buffer.allocUnsafeSlow(SMALL_MESSAGE);

/** True if the bytes may hold bin or ext values (whose decoded views would point into them). */
function mayHoldBinary(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if ((byte >= 0xc4 && byte <= 0xc9) || (byte >= 0xd4 && byte <= 0xd8)) return true;
  }
  return false;
}

// 0: not encoding; 1: the plain writer is; 2: msgpackr is (see #encodeNested).
let encoding: 0 | 1 | 2 = 0;

// Binary values this large are sent by reference by encodeParts: a copy of
// 4 KiB costs about what the parts cost to make.
const GATHER_BYTES = 4096;

// encodeParts' scratch buffer, and its views from the start, one per length (up to VIEW_LENGTHS).
const TRANSIENT_BYTES = 8192;
const VIEW_LENGTHS = 512;
const transient = Buffer.allocUnsafeSlow(TRANSIENT_BYTES);
const transientViews: (Uint8Array | undefined)[] = new Array(VIEW_LENGTHS);
// An arena result of encodeParts: released at the next one.
let transientLease: Uint8Array | null = null;

function transientBytes(length: number): Uint8Array {
  if (length >= VIEW_LENGTHS) return new Uint8Array(transient.buffer, transient.byteOffset, length);
  let bytes = transientViews[length];
  if (bytes === undefined) {
    bytes = new Uint8Array(transient.buffer, transient.byteOffset, length);
    transientViews[length] = bytes;
  }
  return bytes;
}

// Replies msgpackr encodes: in place only once one was at least this large
// (the set-up costs more than copying a small reply).
const IN_PLACE_BYTES = 4096;
let lastInPlaceSize = 0;

/** msgpackr (see above): the default codec of a service. */
export class MsgpackCodec implements Codec {
  readonly name = 'msgpackr';
  readonly #packr: Packr;

  constructor() {
    installExtensions();
    // mapsAsExtension, keepNegativeZero, checkObject and maxEncodedBytes: changes of the bundled msgpackr
    // (scripts/msgpackr-patches.ts). writeFunction and checkObject refuse what msgpackr would
    // write as nil or as a plain object (value-refusals.ts).
    const options: Options & {
      mapsAsExtension: boolean;
      keepNegativeZero: boolean;
      checkObject(value: object): void;
      maxEncodedBytes: number;
      refuseSize(bytes: number): never;
    } = {
      moreTypes: true,
      useRecords: false,
      useBigIntExtension: true,
      mapsAsExtension: true,
      keepNegativeZero: true,
      writeFunction: refuseFunction as () => never, // msgpackr passes the function (its types say no argument)
      checkObject: refuseObject,
      maxEncodedBytes: MAX_ENCODED_BYTES,
      refuseSize,
      // An object's map header sized to its keys: the fixed 16-bit one refused objects of 65,536 keys or more.
      variableMapSize: true,
    };
    this.#packr = new Packr(options);
  }

  encode(value: unknown): Uint8Array {
    if (encoding !== 0) return this.#encodeNested(value);
    encoding = 1;
    try {
      return this.#encode(value, Number.POSITIVE_INFINITY) as Uint8Array;
    } finally {
      encoding = 0;
    }
  }

  // The result is copied before the next encode (see Codec.encodeParts): plain
  // values are written into one scratch buffer, through a view kept per
  // length, so a small request costs no allocation at all. Others go to an
  // arena, and are released at the next call.
  encodeParts(value: unknown): Uint8Array | Uint8Array[] {
    if (encoding !== 0) return this.#encodeNested(value);
    if (transientLease !== null) {
      this.release(transientLease);
      transientLease = null;
    }
    encoding = 1;
    try {
      const end = encodePlainGathering(transient, 0, TRANSIENT_BYTES, value, GATHER_BYTES);
      if (end >= 0) return gatheredParts(transient, 0, end) ?? transientBytes(end);
      const bytes = this.#encode(value, GATHER_BYTES);
      transientLease = bytes instanceof Uint8Array ? bytes : bytes[0]!;
      return bytes;
    } finally {
      encoding = 0;
    }
  }

  // A getter of the value being encoded encodes something itself: leave the
  // outer encoding's buffers alone (msgpackr's own pack is re-entrant). (A
  // getter of a plain object may run twice: once for the plain writer, once
  // for msgpackr if the writer meets a value it leaves to msgpackr.)
  #encodeNested(value: unknown): Uint8Array {
    const packr = this.#packr;
    if (encoding === 1) packr.useBuffer(Buffer.allocUnsafeSlow(ARENA_BYTES)); // msgpackr is not packing: a buffer of its own
    return Uint8Array.prototype.slice.call(packr.pack(value));
  }

  // Binary values of at least `gatherFrom` bytes become parts of their own (encodeParts).
  #encode(value: unknown, gatherFrom: number): Uint8Array | Uint8Array[] {
    let into = currentArena();
    const start = into.used;
    const end =
      gatherFrom === Number.POSITIVE_INFINITY
        ? encodePlain(into.buffer, start, into.buffer.length, value)
        : encodePlainGathering(into.buffer, start, into.buffer.length, value, gatherFrom);
    if (end >= 0) {
      into.used = end;
      into.leases++;
      lastSize = end - start;
      const parts = gatherFrom === Number.POSITIVE_INFINITY ? null : gatheredParts(into.buffer, start, end);
      if (parts !== null) return parts;
      // A plain Uint8Array view: cheaper to make than a Buffer's subarray.
      return new Uint8Array(into.buffer.buffer, into.buffer.byteOffset + start, end - start);
    }
    const packr = this.#packr;
    packr.useBuffer(into.buffer);
    packr.position = into.used;
    encoding = 2;
    const bytes = packr.pack(value);
    if (bytes.buffer !== into.buffer.buffer) {
      // msgpackr needed more room and moved to a larger buffer of its own (what it wrote into ours
      // belongs to no result): that buffer becomes the arena, reused in turn once released.
      retire(into);
      into = arena = arenas.get(bytes.buffer) ?? newArena(Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength), 0);
    }
    into.used = bytes.byteOffset + bytes.length;
    into.leases++;
    lastSize = bytes.length;
    lastInPlaceSize = bytes.length;
    return bytes;
  }

  release(bytes: Uint8Array): void {
    const owner = arenas.get(bytes.buffer);
    if (owner === undefined || owner.leases === 0) return;
    owner.leases--;
    if (owner.leases === 0 && owner.retired) spare(owner);
  }

  encodeInto(value: unknown, target: Uint8Array): number {
    if (encoding !== 0) return -1;
    encoding = 1;
    try {
      return this.#encodeInto(value, target);
    } finally {
      encoding = 0;
    }
  }

  #encodeInto(value: unknown, target: Uint8Array): number {
    // Plain values: written in place, straight into target (no set-up per call).
    const end = encodePlain(target, 0, target.length, value);
    if (end >= 0) return end;
    // Others through msgpackr, which needs a Buffer view of target and a DataView of it per call:
    // only worth it for large values (judged by the last one), else encode and copy.
    if (lastInPlaceSize < IN_PLACE_BYTES) return -1;
    const packr = this.#packr;
    packr.useBuffer(
      Buffer.isBuffer(target) ? target : Buffer.from(target.buffer, target.byteOffset, target.byteLength),
    );
    encoding = 2;
    const bytes = packr.pack(value);
    lastInPlaceSize = bytes.length;
    return bytes.buffer === target.buffer && bytes.byteOffset === target.byteOffset ? bytes.length : -1;
  }

  decodeFrom(memory: Uint8Array, start: number, end: number): unknown {
    if (end <= start) throw new Error('no bytes to decode');
    const plain = decodePlainCopying(memory, start, end);
    if (plain !== NOT_PLAIN) return plain;
    const bytes = memory.subarray(start, end);
    if (bytes.length <= SMALL_MESSAGE && !mayHoldBinary(bytes)) return this.#unpackSmall(bytes);
    // Binary values would be views of what msgpackr reads: it reads a copy of its own.
    noteFreshReplyMemory(bytes.length);
    const copy = Buffer.allocUnsafe(bytes.length);
    copy.set(bytes);
    return this.#unpack(copy, 0, copy.length);
  }

  decode(bytes: Uint8Array): unknown {
    if (bytes.length === 0) throw new Error('no bytes to decode');
    const plain = decodePlain(bytes, 0, bytes.length);
    if (plain !== NOT_PLAIN) return plain;
    if (bytes.length <= SMALL_MESSAGE && !mayHoldBinary(bytes)) return this.#unpackSmall(bytes);
    return this.#unpack(sourceOf(bytes.buffer).buffer, bytes.byteOffset, bytes.byteOffset + bytes.length);
  }

  // A small message with no binary value: read from the start of the scratch buffer (see SMALL_MESSAGE).
  #unpackSmall(bytes: Uint8Array): unknown {
    scratch.set(bytes);
    return this.#unpack(scratch, 0, bytes.length);
  }

  #unpack(source: Buffer, start: number, end: number): unknown {
    range.start = start;
    range.end = end;
    const value: unknown = this.#packr.unpack(source, range);
    refuseC1Marker(value, source, start, end);
    return value;
  }
}

/** The default codec (msgpackr, see MsgpackCodec). */
export const msgpackCodec: Codec = new MsgpackCodec();
