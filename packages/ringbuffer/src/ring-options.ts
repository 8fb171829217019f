import { PhoenixError } from '@phoenix-ipc/errors';
import {
  alignRecord,
  dataBytesFor,
  isPowerOfTwo,
  MAX_CAPACITY,
  MAX_DATA_BYTES,
  RECORD_HEADER_BYTES,
} from './ring-descriptor.js';

// The checks of what a caller hands the ring (options, region, messages) and
// the errors the ring throws: kept apart from the ring's hot paths, which only
// call them to fail.

export interface RingOptions {
  /** Maximum number of messages in the ring; a power of two. */
  capacity: number;
  /** Largest payload in bytes one message may carry. */
  maxMessageSize: number;
  /**
   * Size of the data region in bytes (a power of two, at least two maximum-size
   * records). Default: see `dataBytesFor` — the region bounds bytes as
   * `capacity` bounds messages.
   */
  dataBytes?: number;
}

export type RingRegion = ArrayBuffer | SharedArrayBuffer;

export function badRing(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_BAD_RING', message);
}

export function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

/** A message that is not bytes: a string or a Uint16Array would be stored as something else. */
export function notBytes(value: unknown): PhoenixError {
  const what =
    value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'an object') : typeof value;
  return invalid(`a message must be a Uint8Array (or Buffer), got ${what}`);
}

export function checkedOptions(options: RingOptions): { capacity: number; maxMessageSize: number; dataBytes: number } {
  if (typeof options !== 'object' || options === null) throw invalid('ring options must be an object');
  const { capacity, maxMessageSize } = options;
  if (!isPowerOfTwo(capacity) || capacity > MAX_CAPACITY) {
    throw invalid(`capacity must be a power of two from 1 to ${MAX_CAPACITY}, got ${String(capacity)}`);
  }
  if (!Number.isInteger(maxMessageSize) || maxMessageSize < 0 || maxMessageSize > MAX_DATA_BYTES / 4) {
    throw invalid(`maxMessageSize must be an integer from 0 to ${MAX_DATA_BYTES / 4}, got ${String(maxMessageSize)}`);
  }
  const minimum = 2 * alignRecord(RECORD_HEADER_BYTES + maxMessageSize);
  const dataBytes = options.dataBytes ?? dataBytesFor(capacity, maxMessageSize);
  if (!isPowerOfTwo(dataBytes) || dataBytes > MAX_DATA_BYTES || dataBytes < minimum) {
    throw invalid(
      `dataBytes must be a power of two from ${minimum} (two maximum records) to ${MAX_DATA_BYTES}, got ${String(dataBytes)}`,
    );
  }
  return { capacity, maxMessageSize, dataBytes };
}

export function checkRegion(buffer: RingRegion, byteOffset: number, bytes: number, what: typeof invalid): void {
  const isBuffer =
    buffer instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer);
  if (!isBuffer) throw invalid('buffer must be an ArrayBuffer or SharedArrayBuffer');
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0) {
    throw invalid(`byteOffset must be a non-negative multiple of 8, got ${String(byteOffset)}`);
  }
  if (byteOffset + bytes > buffer.byteLength) {
    throw what(
      `ring at offset ${byteOffset} needs ${bytes} bytes but the region ends at ${buffer.byteLength} (${buffer.byteLength - byteOffset} available)`,
    );
  }
}
