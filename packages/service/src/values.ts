import type { Codec } from './codec.js';

const EMPTY = new Uint8Array(0);

/** `undefined` travels as an empty payload whatever the codec (so raw callers can call methods without input). */
export function encodeValue(codec: Codec, value: unknown): Uint8Array {
  return value === undefined ? EMPTY : codec.encode(value);
}

/** Like encodeValue, in parts when the codec can (see Codec.encodeParts). */
export function encodeValueParts(codec: Codec, value: unknown): Uint8Array | Uint8Array[] {
  if (value === undefined) return EMPTY;
  return codec.encodeParts !== undefined ? codec.encodeParts(value) : codec.encode(value);
}

/** The value of a payload; throws if it does not decode. */
export function decodeValue(codec: Codec, bytes: Uint8Array): unknown {
  return bytes.length === 0 ? undefined : codec.decode(bytes);
}

/** Why encoding or decoding failed, in a few words. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
