// Imported, not the global: Node's global Buffer is a getter (~8 ns a read).
import { Buffer } from 'node:buffer';
import { markAsUntransferable } from 'node:worker_threads';

/**
 * Replies from half of Node's Buffer pool up are an ArrayBuffer of their own
 * (reply-memory-gc.ts); smaller ones are carved from the pool, which is warm.
 * The pool is 8 KiB on Node 20 and 22, 64 KiB on Node 24.
 */
const OWN_MEMORY_BYTES = Buffer.poolSize >>> 1;
/**
 * Above this a spare is not made: it would not stay in the cache until the
 * reply comes (the L2 of the machines measured holds 512 KiB), and holding
 * it between calls would pin that much memory for nothing.
 */
const MAX_SPARE_BYTES = 256 * 1024;

/**
 * The memory `call` copies a big reply into, made ready while the caller
 * waits for it.
 *
 * A fresh reply Buffer lands in memory the allocator last handed out about a
 * young generation ago (~32 MiB of replies between two scavenges), long gone
 * from the cache: the copy then also waits for every line of its
 * destination. When the big replies come in one size (a frame, a tile, an
 * echo), the caller allocates the next one's Buffer while it spins for the
 * reply, and writes it once (zeros), which brings its lines into the cache;
 * the reply's copy then only reads shared memory. Nothing more is allocated
 * than before: the spare becomes the reply's payload, a Buffer of exactly the
 * reply's length that the caller owns. A reply of another length drops the
 * spare (one wasted allocation per change of size), and no spare is made
 * again until two big replies in a row have the same length.
 *
 * Fresh memory all the same: the copier notes it (reply-memory-gc.ts).
 */
export class WarmReplyBuffer {
  #spare: Buffer | null = null;
  /** The length of the last reply with memory of its own; 0 while sizes vary. */
  #repeatedLength = 0;
  #lastLength = 0;

  /** A Buffer of `length` bytes for a reply to be copied into; the spare when it fits exactly. */
  take(length: number): Buffer {
    if (length === 0) return emptyBuffer();
    if (length < OWN_MEMORY_BYTES) return Buffer.allocUnsafe(length);
    this.#repeatedLength = length === this.#lastLength && length <= MAX_SPARE_BYTES ? length : 0;
    this.#lastLength = length;
    const spare = this.#spare;
    if (spare !== null) {
      this.#spare = null;
      if (spare.length === length) return spare;
    }
    return Buffer.allocUnsafe(length);
  }

  /** Bytes of the spare readied for the next reply (0: none). */
  get readiedBytes(): number {
    return this.#spare === null ? 0 : this.#spare.length;
  }

  /** The caller is about to wait for replies: ready the next big reply's memory if sizes repeat. */
  prepare(): void {
    if (this.#repeatedLength === 0 || this.#spare !== null) return;
    this.#spare = Buffer.allocUnsafe(this.#repeatedLength).fill(0);
  }
}

/**
 * Empty replies (a handler that returns nothing) are views of one shared
 * zero-length ArrayBuffer. `Buffer.allocUnsafe(0)` makes a fresh ArrayBuffer
 * every time: ~0.27 µs against ~0.06 µs for a view, and pipelined 16 B calls
 * with empty replies ran at 0.73x of those with 16-byte ones. A view of no
 * bytes gives its owner nothing to read or write. The one way to spoil the
 * shared buffer is to detach it: it is marked untransferable, which stops
 * postMessage and structuredClone, and one detached anyway (Node 22's
 * `ArrayBuffer.prototype.transfer()` ignores the mark) is replaced.
 */
let emptyMemory = untransferableEmpty();

function emptyBuffer(): Buffer {
  try {
    return Buffer.from(emptyMemory, 0, 0);
  } catch {
    // Detached: views of it cannot be made any more.
    emptyMemory = untransferableEmpty();
    return Buffer.from(emptyMemory, 0, 0);
  }
}

function untransferableEmpty(): ArrayBuffer {
  const memory = new ArrayBuffer(0);
  markAsUntransferable(memory);
  return memory;
}

/**
 * The process's one. Every caller engine readies it when it is about to
 * wait, and every big copy out of a reply takes from it: a raw call's payload
 * here, a typed service's binary values in @phoenix-ipc/service (through
 * ./internal). One per process rather than per engine, so that the engine
 * that waits readies memory for whichever kind of reply comes next.
 */
export const replyMemory = new WarmReplyBuffer();
