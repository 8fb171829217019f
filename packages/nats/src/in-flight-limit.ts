/**
 * The requests a bridge has forwarded to its server and not yet answered:
 * how many, and how many payload bytes, each bounded. A bound on the count
 * alone let 1024 requests of 1 MB each hold a gigabyte in the supervisor (and
 * as much again in the segment's copies); the byte bound keeps that in step
 * with what the caller itself may queue (64 MiB).
 */

/** Which bound a request would pass: the name of the option that sets it. */
export type InFlightBound = 'maxInFlight' | 'maxInFlightBytes';

export class InFlightLimit {
  readonly maxCount: number;
  readonly maxBytes: number;
  #count = 0;
  #bytes = 0;

  constructor(maxCount: number, maxBytes: number) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  /** Requests in flight. */
  get count(): number {
    return this.#count;
  }

  /** Their payload bytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Counts in a request of `size` payload bytes, or names the bound it would
   * pass (and counts nothing). A request is taken whatever its size when
   * nothing else is in flight: the byte bound never refuses a payload the NATS
   * server and the segment accept.
   */
  admit(size: number): InFlightBound | null {
    if (this.#count >= this.maxCount) return 'maxInFlight';
    if (this.#count > 0 && this.#bytes + size > this.maxBytes) return 'maxInFlightBytes';
    this.#count++;
    this.#bytes += size;
    return null;
  }

  /** A request admitted with `size` bytes was answered. */
  release(size: number): void {
    this.#count--;
    this.#bytes -= size;
  }
}
