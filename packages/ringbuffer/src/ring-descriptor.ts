/**
 * Byte layout of an SPSC ring inside a shared region. Every field both sides
 * share lives here, so two processes that map the same memory see one ring.
 *
 *   Ring header (HEADER_BYTES = 384), then the data region
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+  0  config line (written once by format)
 *  |                       MAGIC ("RNG1")                          |
 *  |                          VERSION                              |  4
 *  |                   CAPACITY (messages, 2^n)                    |  8
 *  |                 MAX_MESSAGE_SIZE (payload bytes)              |  12
 *  |                    DATA_BYTES (bytes, 2^n)                    |  16
 *  |                  CHECK (xor of the four above)                |  20
 *  +---------------------------------------------------------------+  128 producer line (producer writes)
 *  |            TAIL_BYTES (free-running u32, published)           |
 *  |            TAIL_COUNT (free-running u32 messages)             |  132
 *  +---------------------------------------------------------------+  256 consumer line (consumer writes)
 *  |            HEAD_BYTES (free-running u32, published)           |
 *  |            HEAD_COUNT (free-running u32 messages)             |  260
 *  +---------------------------------------------------------------+  384 data region, DATA_BYTES long
 *
 * The producer and consumer cursors sit two cache lines apart (128 bytes)
 * so that neither the line nor its adjacent-line prefetch pair is shared.
 *
 * A record in the data region, 8-byte aligned, never straddling the end:
 *
 *  +---------------------------------------------------------------+  0
 *  |  RECORD_LENGTH (header + payload bytes; padding: whole gap)   |
 *  |  RECORD_TYPE (MESSAGE or PADDING)                             |  4
 *  |  payload ...                                                  |  8
 *  +---------------------------------------------------------------+
 */

export const RING_MAGIC = 0x31474e52; // "RNG1" little-endian
export const RING_VERSION = 1;

export const MAGIC_OFFSET = 0;
export const VERSION_OFFSET = 4;
export const CAPACITY_OFFSET = 8;
export const MAX_MESSAGE_SIZE_OFFSET = 12;
export const DATA_BYTES_OFFSET = 16;
export const CHECK_OFFSET = 20;

export const CACHE_LINE_BYTES = 64;
export const PRODUCER_LINE_OFFSET = 2 * CACHE_LINE_BYTES;
export const TAIL_BYTES_OFFSET = PRODUCER_LINE_OFFSET;
export const TAIL_COUNT_OFFSET = PRODUCER_LINE_OFFSET + 4;
export const CONSUMER_LINE_OFFSET = 4 * CACHE_LINE_BYTES;
export const HEAD_BYTES_OFFSET = CONSUMER_LINE_OFFSET;
export const HEAD_COUNT_OFFSET = CONSUMER_LINE_OFFSET + 4;
export const HEADER_BYTES = 6 * CACHE_LINE_BYTES;

export const RECORD_ALIGNMENT = 8;
export const RECORD_LENGTH_OFFSET = 0;
export const RECORD_TYPE_OFFSET = 4;
export const RECORD_HEADER_BYTES = 8;
export const RECORD_TYPE_MESSAGE = 0x4d; // 'M'
export const RECORD_TYPE_PADDING = 0x50; // 'P'

/** Limits that keep every free-running u32 difference unambiguous. */
export const MAX_CAPACITY = 1 << 24;
export const MAX_DATA_BYTES = 1 << 30;
export const MIN_DATA_BYTES = 64;

export function alignRecord(length: number): number {
  return (length + RECORD_ALIGNMENT - 1) & ~(RECORD_ALIGNMENT - 1);
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
}

export function nextPowerOfTwo(value: number): number {
  let result = 1;
  while (result < value) result *= 2;
  return result;
}

/** The config line's integrity word: a cheap guard against garbage that happens to pass the other checks. */
export function configCheck(capacity: number, maxMessageSize: number, dataBytes: number): number {
  return (RING_MAGIC ^ RING_VERSION ^ capacity ^ maxMessageSize ^ dataBytes ^ 0x5a5a5a5a) | 0;
}

/**
 * Size of the data region for a ring. It must hold two maximum-size records
 * (so a maximum message always fits once the ring drains, whatever padding the
 * wrap needs) and give every one of `capacity` messages 64 bytes on average.
 */
export function dataBytesFor(capacity: number, maxMessageSize: number): number {
  const largest = alignRecord(RECORD_HEADER_BYTES + maxMessageSize);
  return nextPowerOfTwo(Math.max(MIN_DATA_BYTES, 2 * largest, capacity * 64));
}
