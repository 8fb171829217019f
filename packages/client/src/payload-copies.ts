import { NO_PAYLOAD, payloadLength, type RequestBytes, writePayload } from './call-options.js';

/** The smallest copy kept for reuse: V8 keeps typed arrays of up to 64 bytes on its heap anyway. */
const MIN_CLASS_BYTES = 128;
/** Free memory kept for reuse at most, over all sizes (a burst of waiting calls does not pin its peak). */
const DEFAULT_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Memory for the copies a caller makes of waiting calls' payloads. A call
 * that waits for ring space owns a copy of its payload (its caller may
 * reuse its own buffer as soon as call() returns); the copy is given back
 * here once the request is written, and the next waiting call reuses it.
 *
 * Why: pipelined 64 KiB calls x64 keep about half of their calls waiting
 * (the ring holds fewer), and a fresh 64 KiB copy per call is external
 * memory to V8. It scavenged for it every ~250 calls and promoted the copies
 * still waiting, which brought a mark-compact every ~850 calls: over a
 * 200 MB application heap, 35 k calls/s fell to 4 k.
 *
 * Copies come in power-of-two classes; a copy is a view of exactly the
 * payload's length on a pooled ArrayBuffer.
 */
export class PayloadCopies {
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #limitBytes: number;
  #freeBytes = 0;

  constructor(limitBytes = DEFAULT_LIMIT_BYTES) {
    this.#limitBytes = limitBytes;
  }

  /** Bytes held for reuse now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A copy of `payload` in memory of the caller's own. */
  copy(payload: RequestBytes): Uint8Array {
    const length = payloadLength(payload);
    // No bytes, nothing to own: the shared empty payload (a fresh one is a fresh ArrayBuffer).
    if (length === 0) return NO_PAYLOAD;
    const copy = length <= MIN_CLASS_BYTES / 2 ? new Uint8Array(length) : this.#take(length);
    writePayload(copy, 0, payload);
    return copy;
  }

  /** Takes a copy back (once its request is written); anything this pool did not make is left to the GC. */
  give(copy: Uint8Array): void {
    const buffer = copy.buffer;
    const size = buffer.byteLength;
    if (!(buffer instanceof ArrayBuffer) || size < MIN_CLASS_BYTES || (size & (size - 1)) !== 0) return;
    if (this.#freeBytes + size > this.#limitBytes) return;
    let list = this.#free.get(size);
    if (list === undefined) {
      list = [];
      this.#free.set(size, list);
    }
    list.push(buffer);
    this.#freeBytes += size;
  }

  #take(length: number): Uint8Array {
    const size = Math.max(MIN_CLASS_BYTES, 2 ** Math.ceil(Math.log2(length)));
    const buffer = this.#free.get(size)?.pop();
    if (buffer === undefined) return new Uint8Array(new ArrayBuffer(size), 0, length);
    this.#freeBytes -= size;
    return new Uint8Array(buffer, 0, length);
  }
}
