/**
 * How a service turns values into bytes and back. Both ends of a service
 * must use the same codec (it is part of the service's definition).
 *
 * The service layer handles `undefined` at the top level itself (an empty
 * payload), so a codec only sees the values of calls that pass one.
 */
export interface Codec {
  /** Names the codec in error messages (optional: a codec without one is called "custom"). */
  readonly name?: string;
  /** The value as bytes; throws if the value cannot be encoded. */
  encode(value: unknown): Uint8Array;
  /**
   * The value the bytes encode; throws if they do not decode. `bytes` may be
   * a view into shared memory: binary values the result holds may be views
   * of it (no copy), valid as long as `bytes` is.
   */
  decode(bytes: Uint8Array): unknown;
  /**
   * Optional: like decode, for the bytes memory[start, end) of a reply in
   * shared memory, which is reused as soon as this returns: the value must
   * keep no view of it (binary values are copies, made once). IpcClient and
   * IpcServer then make a call's value straight from its reply, without
   * copying the reply out first.
   */
  decodeFrom?(memory: Uint8Array, start: number, end: number): unknown;
  /**
   * Optional: encodes straight into the start of `target` (a worker's reply
   * area in shared memory) and returns how many bytes it wrote, or -1 to say
   * "use encode" (the value does not fit, or the codec finds encode cheaper
   * for it). Saves a copy of the reply.
   */
  encodeInto?(value: unknown, target: Uint8Array): number;
  /**
   * Optional: like encode, for a caller that copies the result before it
   * returns (IpcClient and IpcServer copy a request into the ring, or into a
   * copy of their own when it must wait). The result is valid only until the
   * codec's next encode, so the codec can reuse one buffer for every call.
   * It may come in parts, sent back to back: large binary values are parts
   * of their own, by reference, so they are copied once, into the request
   * ring, instead of twice.
   */
  encodeParts?(value: unknown): Uint8Array | Uint8Array[];
  /**
   * Optional: `bytes` (a result of encode) is no longer used by anyone, its memory may be reused. A
   * bound service calls it once its call has settled.
   */
  release?(bytes: Uint8Array): void;
}

/** The codec's name for error messages. */
export function codecName(codec: Codec): string {
  return codec.name ?? 'custom';
}
