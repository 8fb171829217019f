/**
 * Request payloads that prove their reply: every request carries the call's
 * number in its first and last 4 bytes over a fixed byte pattern, so a reply
 * that is stale, truncated, reordered or somebody else's does not compare
 * equal. Replies are checked byte for byte: up to SMALL_BYTES in a JS loop,
 * above that with Buffer.equals (memcmp).
 */
/**
 * Up to this size a JS loop compares faster than Buffer.equals, whose call
 * into C++ costs ~80 ns: 13% of the caller's CPU in a pipelined 16 B run,
 * charged to every transport alike (perf, docs/benchmarks-history.md).
 */
const SMALL_BYTES = 64;

export class PayloadPool {
  readonly size: number;
  readonly #buffers: Buffer[];
  #mismatches = 0;
  #verified = 0;
  #firstMismatch = '';

  /** `count` independent buffers: one per call in flight, restamped only after its reply came back. */
  constructor(size: number, count: number) {
    this.size = size;
    this.#buffers = [];
    for (let i = 0; i < count; i++) {
      const buffer = Buffer.allocUnsafeSlow(size);
      for (let j = 0; j < size; j++) buffer[j] = (j * 31 + 7) & 0xff;
      this.#buffers.push(buffer);
    }
  }

  /** Buffer `index`, stamped with call number `call`. */
  stamp(index: number, call: number): Buffer {
    const buffer = this.#buffers[index]!;
    const size = this.size;
    // Byte stores: writeUInt32LE validates its arguments on every call.
    if (size >= 4) putUint32(buffer, 0, call);
    if (size >= 8) putUint32(buffer, size - 4, call);
    return buffer;
  }

  /** Compares `reply` with the current content of buffer `index`; counts the outcome. */
  verify(index: number, reply: Uint8Array): boolean {
    this.#verified++;
    const expected = this.#buffers[index]!;
    if (
      reply.length === expected.length &&
      (expected.length <= SMALL_BYTES ? sameBytes(expected, reply) : expected.equals(reply))
    )
      return true;
    const actual = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
    if (this.#mismatches++ === 0) {
      this.#firstMismatch = `a ${this.size}-byte request got a ${actual.length}-byte reply starting ${actual.subarray(0, 8).toString('hex')} (expected ${expected.subarray(0, 8).toString('hex')})`;
    }
    return false;
  }

  /** How many buffers (calls in flight) it has. */
  get count(): number {
    return this.#buffers.length;
  }

  get verified(): number {
    return this.#verified;
  }

  get mismatches(): number {
    return this.#mismatches;
  }

  /** Throws if any reply differed from its request. */
  assertClean(what: string): void {
    if (this.#mismatches > 0) {
      throw new Error(
        `${what}: ${this.#mismatches} of ${this.#verified} replies differ from their request; first: ${this.#firstMismatch}`,
      );
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function putUint32(buffer: Uint8Array, at: number, value: number): void {
  buffer[at] = value & 0xff;
  buffer[at + 1] = (value >>> 8) & 0xff;
  buffer[at + 2] = (value >>> 16) & 0xff;
  buffer[at + 3] = (value >>> 24) & 0xff;
}
