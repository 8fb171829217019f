// What attach() verifies of a ring it has not written itself, as one
// allocation-free function over the words of the whole region: an owner can
// look at every ring of a segment on each heartbeat without making a ring
// object (and the views and fields it carries) per ring and per look.
import {
  alignRecord,
  CAPACITY_OFFSET,
  CHECK_OFFSET,
  configCheck,
  DATA_BYTES_OFFSET,
  HEAD_BYTES_OFFSET,
  HEAD_COUNT_OFFSET,
  HEADER_BYTES,
  isPowerOfTwo,
  MAGIC_OFFSET,
  MAX_CAPACITY,
  MAX_DATA_BYTES,
  MAX_MESSAGE_SIZE_OFFSET,
  RECORD_HEADER_BYTES,
  RING_MAGIC,
  RING_VERSION,
  TAIL_BYTES_OFFSET,
  TAIL_COUNT_OFFSET,
  VERSION_OFFSET,
} from './ring-descriptor.js';

// attach re-reads indices that look too far apart this many times (both sides may be moving).
const VALIDATE_ATTEMPTS = 16;

/**
 * Null if the ring at `byteOffset` has a header attach() accepts, else what
 * is wrong with it. `words` covers the whole region from its byte 0, which
 * is `regionBytes` long; the ring's offset must be a multiple of 8 inside it.
 */
export function ringHeaderProblem(
  words: Int32Array,
  byteOffset: number,
  regionBytes = words.length * 4,
): string | null {
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0) {
    return `byteOffset must be a non-negative multiple of 8, got ${String(byteOffset)}`;
  }
  if (byteOffset + HEADER_BYTES > regionBytes) {
    return `ring at offset ${byteOffset} needs ${HEADER_BYTES} bytes but the region ends at ${regionBytes} (${regionBytes - byteOffset} available)`;
  }
  const base = byteOffset >> 2;
  const magic = Atomics.load(words, base + (MAGIC_OFFSET >> 2));
  if (magic !== RING_MAGIC) {
    return `bad ring magic 0x${(magic >>> 0).toString(16)} at offset ${byteOffset}, expected 0x${RING_MAGIC.toString(16)}`;
  }
  const version = words[base + (VERSION_OFFSET >> 2)]!;
  if (version !== RING_VERSION) return `ring version ${version}, expected ${RING_VERSION}`;
  const capacity = words[base + (CAPACITY_OFFSET >> 2)]!;
  const maxMessageSize = words[base + (MAX_MESSAGE_SIZE_OFFSET >> 2)]!;
  const dataBytes = words[base + (DATA_BYTES_OFFSET >> 2)]!;
  if (!isPowerOfTwo(capacity) || capacity > MAX_CAPACITY) {
    return `ring capacity ${capacity} is not a power of two within 1..${MAX_CAPACITY}`;
  }
  if (maxMessageSize < 0 || maxMessageSize > MAX_DATA_BYTES / 4)
    return `ring maxMessageSize ${maxMessageSize} out of range`;
  const minimum = 2 * alignRecord(RECORD_HEADER_BYTES + maxMessageSize);
  if (!isPowerOfTwo(dataBytes) || dataBytes > MAX_DATA_BYTES || dataBytes < minimum) {
    return `ring data size ${dataBytes} is not a power of two within ${minimum}..${MAX_DATA_BYTES}`;
  }
  if (words[base + (CHECK_OFFSET >> 2)] !== configCheck(capacity, maxMessageSize, dataBytes)) {
    return `ring header check word mismatch at offset ${byteOffset}`;
  }
  if (byteOffset + HEADER_BYTES + dataBytes > regionBytes) {
    return `ring at offset ${byteOffset} needs ${HEADER_BYTES + dataBytes} bytes but the region ends at ${regionBytes} (${regionBytes - byteOffset} available)`;
  }
  return indicesProblem(words, base, capacity, dataBytes);
}

// The other side may be running while we read, and each side publishes its
// two indices with two stores (the producer count first, the consumer bytes
// first), so a side stopped between them (preempted, or killed) leaves them
// one flush apart. Reading head count, head bytes, tail bytes, tail count in
// that order, a healthy ring never shows misaligned indices, a tail behind
// the head, or bytes without messages; it may show more than dataBytes or
// capacity apart only while both sides move (re-read), and messages without
// bytes while a side is between its two stores (accepted: the consumer goes
// by bytes, the counts only bound the producer).
function indicesProblem(words: Int32Array, base: number, capacity: number, dataBytes: number): string | null {
  for (let attempt = 1; ; attempt++) {
    const headCount = Atomics.load(words, base + (HEAD_COUNT_OFFSET >> 2)) >>> 0;
    const head = Atomics.load(words, base + (HEAD_BYTES_OFFSET >> 2)) >>> 0;
    const tail = Atomics.load(words, base + (TAIL_BYTES_OFFSET >> 2)) >>> 0;
    const tailCount = Atomics.load(words, base + (TAIL_COUNT_OFFSET >> 2)) >>> 0;
    const used = (tail - head) >>> 0;
    const count = (tailCount - headCount) >>> 0;
    if ((tail | head) & 7) return `ring indices are not 8-byte aligned (head ${head}, tail ${tail})`;
    if (count === 0 && used !== 0) return `ring counters disagree: ${count} messages in ${used} bytes`;
    let problem: string | null = null;
    if (used > dataBytes) {
      problem = `ring head ${head} and tail ${tail} are ${used} bytes apart, more than ${dataBytes}`;
    } else if (count > capacity) {
      problem = `ring holds ${count} messages by its counters, more than capacity ${capacity}`;
    }
    if (problem === null || attempt === VALIDATE_ATTEMPTS) return problem;
  }
}
