/**
 * Request payloads that prove their reply: every request carries the call's
 * number in its first and last 4 bytes over a fixed byte pattern, so a reply
 * that is stale, truncated, reordered or somebody else's does not compare
 * equal. Replies are checked byte for byte (Buffer.equals is memcmp).
 */
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
    if (size >= 4) buffer.writeUInt32LE(call >>> 0, 0);
    if (size >= 8) buffer.writeUInt32LE(call >>> 0, size - 4);
    return buffer;
  }

  /** Compares `reply` with the current content of buffer `index`; counts the outcome. */
  verify(index: number, reply: Uint8Array): boolean {
    this.#verified++;
    const expected = this.#buffers[index]!;
    // Buffer#equals takes any Uint8Array: no wrapper allocated per check.
    if (reply.length === expected.length && expected.equals(reply)) return true;
    const actual = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
    if (this.#mismatches++ === 0) {
      this.#firstMismatch = `a ${this.size}-byte request got a ${actual.length}-byte reply starting ${actual.subarray(0, 8).toString('hex')} (expected ${expected.subarray(0, 8).toString('hex')})`;
    }
    return false;
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
