import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PhoenixError, RingDescriptor, type RingOptions, SpscRingBuffer } from '../src/index.js';
import {
  CAPACITY_OFFSET,
  DATA_BYTES_OFFSET,
  fixCheckWord,
  HEAD_COUNT_OFFSET,
  HEADER_BYTES,
  MAGIC_OFFSET,
  MAX_MESSAGE_SIZE_OFFSET,
  makeRing,
  message,
  RECORD_HEADER_BYTES,
  RECORD_TYPE_PADDING,
  readHeader,
  TAIL_BYTES_OFFSET,
  TAIL_COUNT_OFFSET,
  VERSION_OFFSET,
  writeHeader,
  writeIndices,
} from './helpers.js';

const { alignRecord, dataBytesFor } = RingDescriptor;

/** Pops everything, returning copies of the payloads. */
function drain(ring: SpscRingBuffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let view = ring.peek(); view !== null; view = ring.peek()) {
    out.push(view.slice());
    ring.pop();
  }
  return out;
}

/** Moves an empty ring's head and tail forward by `bytes` (a multiple of 8) with zero-length messages. */
function advanceEmptyRing(ring: SpscRingBuffer, bytes: number): void {
  const empty = new Uint8Array(0);
  for (let moved = 0; moved < bytes; moved += RECORD_HEADER_BYTES) {
    if (!ring.push(empty) || !ring.pop()) throw new Error(`could not move an empty ring by ${moved} bytes`);
  }
}

/** The i32 word of the data region at data offset `offset` (0 = first record's length). */
function dataWords(ring: SpscRingBuffer): Int32Array {
  return new Int32Array(ring.buffer, ring.byteOffset + HEADER_BYTES, ring.dataBytes >> 2);
}

describe('SpscRingBuffer.requiredBytes', () => {
  it('is the header plus the default data region', () => {
    const options = { capacity: 16, maxMessageSize: 200 };
    expect(SpscRingBuffer.requiredBytes(options)).toBe(HEADER_BYTES + dataBytesFor(16, 200));
    expect(HEADER_BYTES + dataBytesFor(16, 200)).toBe(HEADER_BYTES + 1024);
  });

  it('honours an explicit dataBytes', () => {
    expect(SpscRingBuffer.requiredBytes({ capacity: 4, maxMessageSize: 120, dataBytes: 4096 })).toBe(
      HEADER_BYTES + 4096,
    );
  });

  it('validates the options like format does', () => {
    expectPhoenixError(
      () => SpscRingBuffer.requiredBytes({ capacity: 3, maxMessageSize: 8 }),
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
  });
});

describe('SpscRingBuffer.format', () => {
  it('writes an empty ring with the requested configuration', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 100 });
    expect(ring.capacity).toBe(8);
    expect(ring.maxMessageSize).toBe(100);
    expect(ring.dataBytes).toBe(dataBytesFor(8, 100));
    expect(ring.byteOffset).toBe(0);
    expect(ring.empty()).toBe(true);
    expect(ring.full()).toBe(false);
    expect(ring.size()).toBe(0);
    expect(ring.freeSpace()).toBe(8);
    expect(ring.peek()).toBeNull();
    expect(ring.indices()).toEqual({ headBytes: 0, tailBytes: 0, headCount: 0, tailCount: 0 });
  });

  it('has capacity as a read-only property: assigning to it throws and changes nothing', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 100 });
    expect(() => {
      (ring as { capacity: number }).capacity = 1024;
    }).toThrow(TypeError);
    expect(ring.capacity).toBe(8);
    for (let i = 0; i < 8; i++) expect(ring.push(new Uint8Array([i]))).toBe(true);
    expect(ring.push(new Uint8Array([8]))).toBe(false);
  });

  it('stamps the magic "RNG1" at the start of the header', () => {
    const ring = makeRing({ capacity: 1, maxMessageSize: 0 });
    expect(new TextDecoder().decode(new Uint8Array(ring.buffer, MAGIC_OFFSET, 4))).toBe('RNG1');
  });

  it('works on a SharedArrayBuffer at a non-zero offset', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 }, { byteOffset: 40, shared: true });
    expect(ring.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(ring.push(message(16, 1))).toBe(true);
    expect(ring.peek()).toEqual(message(16, 1));
  });

  it('resets a ring that was in use', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    ring.push(message(3));
    ring.push(message(4));
    ring.pop();
    const fresh = SpscRingBuffer.format(ring.buffer, 0, { capacity: 4, maxMessageSize: 16 });
    expect(fresh.empty()).toBe(true);
    expect(fresh.indices()).toEqual({ headBytes: 0, tailBytes: 0, headCount: 0, tailCount: 0 });
    expect(fresh.peek()).toBeNull();
  });

  it.each([0, 3, 6, -4, 1.5, Number.NaN, 2 ** 25, '4' as unknown as number])(
    'rejects capacity %s (not a power of two within 1..2^24)',
    (capacity) => {
      expectPhoenixError(
        () => makeRing({ capacity, maxMessageSize: 8 }),
        'ERR_PHOENIX_INVALID_ARGUMENT',
        /capacity must be a power of two/,
      );
    },
  );

  it.each([-1, 1.5, Number.NaN, 2 ** 28 + 1])('rejects maxMessageSize %s', (maxMessageSize) => {
    expectPhoenixError(
      () => SpscRingBuffer.format(new ArrayBuffer(1 << 16), 0, { capacity: 4, maxMessageSize }),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /maxMessageSize must be an integer/,
    );
  });

  it.each([1000, 64.5, -64, 0, 128, 2 ** 31])(
    'rejects dataBytes %s (not a power of two holding two maximum records)',
    (dataBytes) => {
      expectPhoenixError(
        () => SpscRingBuffer.format(new ArrayBuffer(1 << 16), 0, { capacity: 4, maxMessageSize: 100, dataBytes }),
        'ERR_PHOENIX_INVALID_ARGUMENT',
        /dataBytes must be a power of two from 224/,
      );
    },
  );

  it('rejects options that are not an object', () => {
    expectPhoenixError(
      () => SpscRingBuffer.format(new ArrayBuffer(4096), 0, null as unknown as RingOptions),
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
  });

  it('rejects a region too small for the ring', () => {
    const options = { capacity: 4, maxMessageSize: 16 };
    const needed = SpscRingBuffer.requiredBytes(options);
    expectPhoenixError(
      () => SpscRingBuffer.format(new ArrayBuffer(needed - 8), 0, options),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      new RegExp(`needs ${needed} bytes`),
    );
    expectPhoenixError(
      () => SpscRingBuffer.format(new ArrayBuffer(needed), 8, options),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /region ends at/,
    );
  });

  it.each([4, -8, 1.5])('rejects byteOffset %s (not a non-negative multiple of 8)', (byteOffset) => {
    expectPhoenixError(
      () => SpscRingBuffer.format(new ArrayBuffer(4096), byteOffset, { capacity: 1, maxMessageSize: 0 }),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /byteOffset/,
    );
  });

  it('rejects a buffer that is not an ArrayBuffer or SharedArrayBuffer', () => {
    expectPhoenixError(
      () =>
        SpscRingBuffer.format(new Uint8Array(4096) as unknown as ArrayBuffer, 0, { capacity: 1, maxMessageSize: 0 }),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /ArrayBuffer/,
    );
  });
});

describe('SpscRingBuffer.attach', () => {
  const options = { capacity: 8, maxMessageSize: 100 }; // dataBytes 512

  it('reads the configuration a format wrote, at any 8-aligned offset', () => {
    const producer = makeRing(options, { byteOffset: 136 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 136);
    expect(consumer.capacity).toBe(8);
    expect(consumer.maxMessageSize).toBe(100);
    expect(consumer.dataBytes).toBe(512);
  });

  it('shares the messages with the formatting instance, both ways', () => {
    const producer = makeRing(options);
    producer.push(message(10, 1));
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    producer.push(message(20, 2));
    expect(consumer.size()).toBe(2);
    expect(drain(consumer)).toEqual([message(10, 1), message(20, 2)]);
    expect(producer.empty()).toBe(true);
    expect(producer.indices().headCount).toBe(2);
  });

  it('rejects a region shorter than the header', () => {
    expectPhoenixError(
      () => SpscRingBuffer.attach(new ArrayBuffer(HEADER_BYTES - 8), 0),
      'ERR_PHOENIX_BAD_RING',
      /needs 384 bytes/,
    );
  });

  it('rejects a bad magic, naming it', () => {
    const ring = makeRing(options);
    writeHeader(ring.buffer, 0, MAGIC_OFFSET, 0xdeadbeef);
    expectPhoenixError(() => SpscRingBuffer.attach(ring.buffer, 0), 'ERR_PHOENIX_BAD_RING', /magic 0xdeadbeef/);
  });

  it('rejects zeroed memory (no ring there)', () => {
    expectPhoenixError(() => SpscRingBuffer.attach(new ArrayBuffer(4096), 0), 'ERR_PHOENIX_BAD_RING', /magic 0x0/);
  });

  it('rejects another version, naming it', () => {
    const ring = makeRing(options);
    writeHeader(ring.buffer, 0, VERSION_OFFSET, 2);
    expectPhoenixError(() => SpscRingBuffer.attach(ring.buffer, 0), 'ERR_PHOENIX_BAD_RING', /version 2/);
  });

  it.each([0, 3, 12, 2 ** 25])('rejects capacity %s, naming it', (capacity) => {
    const ring = makeRing(options);
    writeHeader(ring.buffer, 0, CAPACITY_OFFSET, capacity);
    fixCheckWord(ring.buffer, 0);
    expectPhoenixError(
      () => SpscRingBuffer.attach(ring.buffer, 0),
      'ERR_PHOENIX_BAD_RING',
      new RegExp(`capacity ${capacity} `),
    );
  });

  it('rejects a negative maxMessageSize, naming it', () => {
    const ring = makeRing(options);
    writeHeader(ring.buffer, 0, MAX_MESSAGE_SIZE_OFFSET, -1);
    fixCheckWord(ring.buffer, 0);
    expectPhoenixError(() => SpscRingBuffer.attach(ring.buffer, 0), 'ERR_PHOENIX_BAD_RING', /maxMessageSize -1 /);
  });

  it.each([1000, 0, 128])(
    'rejects data size %s (not a power of two holding two maximum records), naming it',
    (dataBytes) => {
      const ring = makeRing(options);
      writeHeader(ring.buffer, 0, DATA_BYTES_OFFSET, dataBytes);
      fixCheckWord(ring.buffer, 0);
      expectPhoenixError(
        () => SpscRingBuffer.attach(ring.buffer, 0),
        'ERR_PHOENIX_BAD_RING',
        new RegExp(`data size ${dataBytes} `),
      );
    },
  );

  it('rejects a data region that runs past the end of the buffer', () => {
    const big = makeRing({ capacity: 8, maxMessageSize: 100, dataBytes: 4096 });
    const small = new ArrayBuffer(HEADER_BYTES + 1024);
    new Uint8Array(small).set(new Uint8Array(big.buffer, 0, small.byteLength));
    expectPhoenixError(
      () => SpscRingBuffer.attach(small, 0),
      'ERR_PHOENIX_BAD_RING',
      /needs 4480 bytes but the region ends at 1408/,
    );
  });

  it('rejects a config line whose check word does not match', () => {
    const ring = makeRing(options);
    writeHeader(ring.buffer, 0, MAX_MESSAGE_SIZE_OFFSET, 99); // still a valid-looking value
    expectPhoenixError(() => SpscRingBuffer.attach(ring.buffer, 0), 'ERR_PHOENIX_BAD_RING', /check word mismatch/);
  });

  it('rejects a head ahead of the tail, naming both', () => {
    const ring = makeRing(options);
    writeIndices(ring.buffer, 0, { headBytes: 16, tailBytes: 8, headCount: 2, tailCount: 1 });
    expectPhoenixError(() => SpscRingBuffer.attach(ring.buffer, 0), 'ERR_PHOENIX_BAD_RING', /head 16 and tail 8/);
  });

  it('rejects a tail more than dataBytes ahead of the head, naming both', () => {
    const ring = makeRing(options);
    writeIndices(ring.buffer, 0, { headBytes: 0, tailBytes: 520, headCount: 0, tailCount: 1 });
    expectPhoenixError(
      () => SpscRingBuffer.attach(ring.buffer, 0),
      'ERR_PHOENIX_BAD_RING',
      /head 0 and tail 520 .*more than 512/,
    );
  });

  it('accepts a tail exactly dataBytes ahead (a ring full by bytes)', () => {
    const ring = makeRing(options);
    writeIndices(ring.buffer, 0, { headBytes: 0, tailBytes: 512, headCount: 0, tailCount: 4 });
    expect(SpscRingBuffer.attach(ring.buffer, 0).size()).toBe(4);
  });

  it('rejects misaligned indices, naming them', () => {
    const ring = makeRing(options);
    writeIndices(ring.buffer, 0, { headBytes: 4, tailBytes: 12, headCount: 0, tailCount: 1 });
    expectPhoenixError(
      () => SpscRingBuffer.attach(ring.buffer, 0),
      'ERR_PHOENIX_BAD_RING',
      /not 8-byte aligned \(head 4, tail 12\)/,
    );
  });

  it('rejects message counters more than capacity apart', () => {
    const ring = makeRing(options);
    writeIndices(ring.buffer, 0, { headBytes: 0, tailBytes: 256, headCount: 0, tailCount: 9 });
    expectPhoenixError(() => SpscRingBuffer.attach(ring.buffer, 0), 'ERR_PHOENIX_BAD_RING', /9 messages .*capacity 8/);
  });

  it('rejects bytes without messages (counters that cannot be)', () => {
    const ring = makeRing(options);
    writeIndices(ring.buffer, 0, { headBytes: 0, tailBytes: 16, headCount: 5, tailCount: 5 });
    expectPhoenixError(() => SpscRingBuffer.attach(ring.buffer, 0), 'ERR_PHOENIX_BAD_RING', /0 messages in 16 bytes/);
  });

  it('accepts a tail count ahead of the tail bytes (a producer stopped between its two index stores)', () => {
    const ring = makeRing(options);
    writeIndices(ring.buffer, 0, { headBytes: 64, tailBytes: 64, headCount: 5, tailCount: 7 });
    const producer = SpscRingBuffer.attach(ring.buffer, 0);
    const consumer = SpscRingBuffer.attach(ring.buffer, 0);
    expect(consumer.peek()).toBeNull(); // the consumer goes by bytes
    expect(producer.push(message(10, 1))).toBe(true);
    expect(drain(consumer)).toEqual([message(10, 1)]);
  });

  it('accepts head bytes ahead of the head count (a consumer stopped between its two index stores)', () => {
    const producer = makeRing(options);
    producer.pushBatch([message(10, 1), message(10, 2)]);
    writeIndices(producer.buffer, 0, { headBytes: 48, tailBytes: 48, headCount: 0, tailCount: 2 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    expect(consumer.peek()).toBeNull();
    expect(producer.push(message(10, 3))).toBe(true);
    expect(drain(consumer)).toEqual([message(10, 3)]);
  });

  it('accepts indices that have wrapped around 2^32 and keeps working across the wrap', () => {
    const producer = makeRing(options);
    writeIndices(producer.buffer, 0, {
      headBytes: 2 ** 32 - 64,
      tailBytes: 2 ** 32 - 64,
      headCount: 2 ** 32 - 2,
      tailCount: 2 ** 32 - 2,
    });
    producer.resync();
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    const sent = [message(30, 1), message(0, 2), message(100, 3), message(7, 4)];
    for (const m of sent) expect(producer.push(m)).toBe(true);
    expect(consumer.size()).toBe(4);
    expect(drain(consumer)).toEqual(sent);
    expect(producer.indices()).toEqual({ headBytes: 128, tailBytes: 128, headCount: 2, tailCount: 2 });
    expect(SpscRingBuffer.attach(producer.buffer, 0).empty()).toBe(true);
  });

  it('rejects a misaligned byteOffset as an invalid argument', () => {
    expectPhoenixError(
      () => SpscRingBuffer.attach(new ArrayBuffer(4096), 4),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /byteOffset/,
    );
  });
});

describe('producer and consumer', () => {
  it('peek and pop on an empty ring return null and false', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    expect(ring.peek()).toBeNull();
    expect(ring.pop()).toBe(false);
    expect(ring.empty()).toBe(true);
  });

  it('delivers messages first in, first out', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 64 });
    const sent = [message(5, 1), message(64, 2), message(1, 3), message(33, 4)];
    for (const m of sent) expect(ring.push(m)).toBe(true);
    expect(drain(ring)).toEqual(sent);
  });

  it('peek returns the same message until pop, as a view into the ring', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    ring.push(message(12, 7));
    ring.push(message(3, 8));
    const first = ring.peek()!;
    expect(first).toEqual(message(12, 7));
    expect(first.buffer).toBe(ring.buffer);
    expect(first.byteOffset).toBeGreaterThanOrEqual(HEADER_BYTES);
    expect(ring.peek()!.byteOffset).toBe(first.byteOffset);
    expect(ring.pop()).toBe(true);
    expect(ring.peek()).toEqual(message(3, 8));
  });

  it('copies the pushed bytes (the caller may reuse its array)', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    const bytes = message(8, 1);
    ring.push(bytes);
    bytes.fill(0);
    expect(ring.peek()).toEqual(message(8, 1));
  });

  it('is full after capacity messages: push returns false until a pop', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    for (let i = 0; i < 4; i++) expect(ring.push(message(1, i))).toBe(true);
    expect(ring.full()).toBe(true);
    expect(ring.freeSpace()).toBe(0);
    expect(ring.push(message(1, 9))).toBe(false);
    expect(ring.pushEmplace(0)).toBeNull();
    expect(ring.size()).toBe(4);
    ring.pop();
    expect(ring.full()).toBe(false);
    expect(ring.push(message(1, 4))).toBe(true);
    expect(drain(ring)).toEqual([1, 2, 3, 4].map((i) => message(1, i)));
  });

  it('a ring of capacity 1 holds one message', () => {
    const ring = makeRing({ capacity: 1, maxMessageSize: 8 });
    expect(ring.push(message(8, 1))).toBe(true);
    expect(ring.full()).toBe(true);
    expect(ring.push(message(8, 2))).toBe(false);
    expect(ring.pop()).toBe(true);
    expect(ring.push(message(8, 2))).toBe(true);
    expect(ring.peek()).toEqual(message(8, 2));
  });

  it('is full by bytes when large messages fill the data region before the count', () => {
    const ring = makeRing({ capacity: 16, maxMessageSize: 200 }); // 1024 data bytes, 208 per 200-byte record
    for (let i = 0; i < 4; i++) expect(ring.push(message(200, i))).toBe(true);
    expect(ring.push(message(200, 4))).toBe(false);
    expect(ring.size()).toBe(4);
    expect(ring.full()).toBe(false); // full() counts messages
    expect(ring.freeSpace()).toBe(12);
    expect(ring.push(message(100, 5))).toBe(true); // a smaller one still fits in the 192 bytes left
    expect(ring.push(message(200, 6))).toBe(false);
    ring.pop();
    expect(ring.push(message(200, 6))).toBe(true); // wraps to the start, after a padding record
    expect(drain(ring)).toEqual([message(200, 1), message(200, 2), message(200, 3), message(100, 5), message(200, 6)]);
  });

  it.each([
    { capacity: 1, maxMessageSize: 0 },
    { capacity: 4, maxMessageSize: 120, dataBytes: 256 },
    { capacity: 2, maxMessageSize: 121, dataBytes: 512 },
    { capacity: 8, maxMessageSize: 100 },
    { capacity: 2, maxMessageSize: 1000, dataBytes: 2048 },
  ])('a maximum-size message fits in an empty ring at every wrap offset (%o)', (options) => {
    const probe = makeRing(options);
    for (let offset = 0; offset < probe.dataBytes; offset += 8) {
      const ring = makeRing(options);
      advanceEmptyRing(ring, offset);
      expect(ring.indices().tailBytes % ring.dataBytes).toBe(offset);
      const big = message(ring.maxMessageSize, offset);
      expect(ring.push(big), `at offset ${offset}`).toBe(true);
      expect(Buffer.from(ring.peek()!).equals(big), `content at offset ${offset}`).toBe(true);
      expect(ring.pop()).toBe(true);
      expect(ring.empty()).toBe(true);
    }
  });

  it('carries zero-length messages', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 0 });
    for (let i = 0; i < 4; i++) expect(ring.push(new Uint8Array(0))).toBe(true);
    expect(ring.push(new Uint8Array(0))).toBe(false);
    expect(ring.size()).toBe(4);
    const view = ring.peek();
    expect(view).not.toBeNull();
    expect(view!.length).toBe(0);
    expect(ring.forceAdvanceReadIndex(4)).toBe(4);
    expect(ring.empty()).toBe(true);
    const emplaced = ring.pushEmplace(0)!;
    expect(emplaced.length).toBe(0);
    ring.commit();
    expect(ring.peek()!.length).toBe(0);
  });

  it('rejects a message larger than maxMessageSize with ERR_PHOENIX_PAYLOAD_TOO_LARGE, publishing nothing', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    expectPhoenixError(
      () => ring.push(message(17)),
      'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
      /17 bytes exceeds maxMessageSize 16/,
    );
    expectPhoenixError(() => ring.pushEmplace(17), 'ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect(ring.empty()).toBe(true);
    expect(ring.push(message(16))).toBe(true);
  });

  it('rejects a negative or fractional pushEmplace length as an invalid argument', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    expectPhoenixError(() => ring.pushEmplace(-1), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expectPhoenixError(() => ring.pushEmplace(2.5), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('pushEmplace, commit and abort', () => {
  it('returns a writable view of the requested length inside the data region', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 64 }, { byteOffset: 16 });
    const view = ring.pushEmplace(40)!;
    expect(view.length).toBe(40);
    expect(view.buffer).toBe(ring.buffer);
    expect(view.byteOffset).toBeGreaterThanOrEqual(16 + HEADER_BYTES);
    expect(view.byteOffset + view.length).toBeLessThanOrEqual(16 + HEADER_BYTES + ring.dataBytes);
  });

  it('publishes nothing before commit', () => {
    const producer = makeRing({ capacity: 4, maxMessageSize: 64 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    producer.pushEmplace(10)!.set(message(10, 3));
    expect(consumer.peek()).toBeNull();
    expect(consumer.size()).toBe(0);
    producer.commit();
    expect(consumer.peek()).toEqual(message(10, 3));
    expect(consumer.size()).toBe(1);
  });

  it('commit(length) publishes a shorter message', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 64 });
    const view = ring.pushEmplace(64)!;
    view.set(message(64, 5));
    ring.commit(5);
    ring.push(message(3, 6));
    expect(drain(ring)).toEqual([message(64, 5).subarray(0, 5), message(3, 6)]);
  });

  it('commit(0) publishes an empty message', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 64 });
    ring.pushEmplace(64);
    ring.commit(0);
    expect(ring.peek()!.length).toBe(0);
  });

  it('a shortened commit returns the unused bytes', () => {
    const ring = makeRing({ capacity: 16, maxMessageSize: 200 }); // 1024 data bytes
    for (let i = 0; i < 4; i++) {
      ring.pushEmplace(200);
      ring.commit(8); // 16-byte records
    }
    for (let i = 0; i < 4; i++) expect(ring.push(message(200, i))).toBe(true); // 64 + 4 * 208 = 896
  });

  it('commit with a length above the reserved one is an invalid argument and keeps the reservation', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 64 });
    ring.pushEmplace(10);
    expectPhoenixError(() => ring.commit(11), 'ERR_PHOENIX_INVALID_ARGUMENT', /0\.\.10/);
    expectPhoenixError(() => ring.commit(-1), 'ERR_PHOENIX_INVALID_ARGUMENT');
    ring.commit(10);
    expect(ring.size()).toBe(1);
  });

  it('commit without a reservation, or a second reservation, is ERR_PHOENIX_INVALID_STATE', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 64 });
    expectPhoenixError(() => ring.commit(), 'ERR_PHOENIX_INVALID_STATE');
    ring.pushEmplace(4);
    expectPhoenixError(() => ring.pushEmplace(4), 'ERR_PHOENIX_INVALID_STATE');
    expectPhoenixError(() => ring.push(message(4)), 'ERR_PHOENIX_INVALID_STATE');
    expectPhoenixError(() => ring.pushBatch([message(4)]), 'ERR_PHOENIX_INVALID_STATE');
    ring.commit();
    expect(ring.size()).toBe(1);
  });

  it('pushEmplace returns null when the ring is full', () => {
    const ring = makeRing({ capacity: 2, maxMessageSize: 64 });
    ring.push(message(1));
    ring.push(message(1));
    expect(ring.pushEmplace(1)).toBeNull();
    expectPhoenixError(() => ring.commit(), 'ERR_PHOENIX_INVALID_STATE');
  });

  it('abort gives the reserved space back', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 200 }); // 512 data bytes
    ring.push(message(200, 1));
    const view = ring.pushEmplace(200)!;
    view.fill(0xee);
    ring.abort();
    expect(ring.size()).toBe(0 + 1);
    expect(ring.pushEmplace(200)!.byteOffset).toBe(view.byteOffset);
    ring.abort();
    expect(ring.push(message(200, 2))).toBe(true);
    expect(ring.push(message(88, 3))).toBe(true); // 208 + 208 + 96 = 512: every byte was given back
    expect(ring.push(new Uint8Array(0))).toBe(false);
    expect(drain(ring)).toEqual([message(200, 1), message(200, 2), message(88, 3)]);
  });

  it('abort of a reservation that wrapped around the end discards its padding', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 200 }); // 512 data bytes
    advanceEmptyRing(ring, 400); // 112 bytes to the end
    ring.pushEmplace(200); // needs a padding record at 400
    ring.abort();
    expect(ring.indices().tailBytes).toBe(400);
    expect(ring.push(message(50, 1))).toBe(true); // fits before the end, over the padding header
    expect(ring.push(message(200, 2))).toBe(true); // wraps
    expect(drain(ring)).toEqual([message(50, 1), message(200, 2)]);
  });

  it('abort without a reservation does nothing', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    ring.push(message(3));
    ring.abort();
    expect(drain(ring)).toEqual([message(3)]);
  });

  it('stage() keeps messages unpublished until flush() publishes them together', () => {
    const producer = makeRing({ capacity: 4, maxMessageSize: 16 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    producer.pushEmplace(2)!.set(message(2, 1));
    producer.stage();
    producer.pushEmplace(3)!.set(message(3, 2));
    producer.stage(1);
    expect(producer.hasUnpublished).toBe(true);
    expect(producer.producedCount).toBe(2);
    expect(consumer.size()).toBe(0);
    expect(consumer.peek()).toBeNull();
    producer.flush();
    expect(producer.hasUnpublished).toBe(false);
    expect(drain(consumer)).toEqual([message(2, 1), message(3, 2).subarray(0, 1)]);
  });
});

describe('canReserve (room without reserving it)', () => {
  it('says whether reserve would succeed, by bytes and by count', () => {
    const producer = makeRing({ capacity: 4, maxMessageSize: 64 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    for (let i = 0; i < 4; i++) {
      expect(producer.canReserve(8)).toBe(true);
      producer.push(message(8, i));
    }
    expect(producer.canReserve(0)).toBe(false); // four messages: full by count
    expect(producer.reserve(0)).toBe(-1);
    consumer.pop();
    expect(producer.canReserve(8)).toBe(true); // the consumer's release is seen
    expect(producer.reserve(8)).toBeGreaterThanOrEqual(0);
  });

  it('counts the padding a record that would straddle the end needs', () => {
    const producer = makeRing({ capacity: 16, maxMessageSize: 200 }); // 1024 data bytes, 208-byte records
    advanceEmptyRing(producer, 200);
    for (let i = 0; i < 3; i++) producer.push(message(200, i));
    producer.push(message(92, 3)); // 728 bytes used; the tail 96 bytes before the end, 296 free
    expect(producer.canReserve(88)).toBe(true); // 96 bytes: fits before the end
    expect(producer.canReserve(200)).toBe(false); // 96 of padding + 208 > 296
    expect(producer.reserve(200)).toBe(-1);
    producer.pop(); // 504 free
    expect(producer.canReserve(200)).toBe(true);
    expect(producer.reserve(200)).toBeGreaterThanOrEqual(0);
  });

  it('writes nothing: no padding, no reservation', () => {
    const ring = makeRing({ capacity: 16, maxMessageSize: 200 });
    advanceEmptyRing(ring, 1024 - 64); // a 208-byte record would need padding first
    const before = dataWords(ring).slice();
    const indices = ring.indices();
    expect(ring.canReserve(200)).toBe(true);
    expect(dataWords(ring)).toEqual(before);
    expect(ring.indices()).toEqual(indices);
    expect(ring.hasUnpublished).toBe(false);
    ring.push(message(200, 4)); // no reservation was left behind
    expect(drain(ring)).toEqual([message(200, 4)]);
  });

  it('refuses a bad length as reserve does', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 64 });
    expectPhoenixError(() => ring.canReserve(65), 'ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expectPhoenixError(() => ring.canReserve(-1), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expectPhoenixError(() => ring.canReserve(1.5), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('adoptStaged (taking over from a producer that died before its flush)', () => {
  /** A producer that staged `lengths` messages (tags 1, 2, ...) and died before flush(). */
  function stagedBy(ring: SpscRingBuffer, lengths: number[]): void {
    lengths.forEach((length, i) => {
      ring.pushEmplace(length)!.set(message(length, i + 1));
      ring.stage();
    });
  }

  it('publishes, in order, every staged message accept vouches for', () => {
    const dead = makeRing({ capacity: 8, maxMessageSize: 64 });
    dead.push(message(5, 0));
    stagedBy(dead, [10, 20, 30]);
    const heir = SpscRingBuffer.attach(dead.buffer, 0);
    const seen: number[] = [];
    expect(heir.adoptStaged((_offset, length) => seen.push(length) > 0)).toBe(3);
    expect(seen).toEqual([10, 20, 30]);
    expect(drain(SpscRingBuffer.attach(dead.buffer, 0))).toEqual([
      message(5, 0),
      message(10, 1),
      message(20, 2),
      message(30, 3),
    ]);
  });

  it('hands accept the offset of each payload in the buffer', () => {
    const dead = makeRing({ capacity: 4, maxMessageSize: 64 }, { byteOffset: 64 });
    stagedBy(dead, [12]);
    const heir = SpscRingBuffer.attach(dead.buffer, 64);
    let payload: Uint8Array | null = null;
    heir.adoptStaged((offset, length) => {
      payload = new Uint8Array(dead.buffer, offset, length).slice();
      return true;
    });
    expect(payload).toEqual(message(12, 1));
  });

  it('stops at the first message accept refuses and leaves it unpublished', () => {
    const dead = makeRing({ capacity: 8, maxMessageSize: 64 });
    stagedBy(dead, [10, 20, 30]);
    const heir = SpscRingBuffer.attach(dead.buffer, 0);
    expect(heir.adoptStaged((_offset, length) => length !== 20)).toBe(1);
    expect(drain(SpscRingBuffer.attach(dead.buffer, 0))).toEqual([message(10, 1)]);
  });

  it('publishes nothing when nothing was staged, and goes on producing after what it adopted', () => {
    const dead = makeRing({ capacity: 8, maxMessageSize: 64 });
    dead.push(message(5, 0));
    const heir = SpscRingBuffer.attach(dead.buffer, 0);
    expect(heir.adoptStaged(() => true)).toBe(0);
    stagedBy(dead, [7]);
    const second = SpscRingBuffer.attach(dead.buffer, 0);
    expect(second.adoptStaged(() => true)).toBe(1);
    second.push(message(9, 9));
    expect(drain(SpscRingBuffer.attach(dead.buffer, 0))).toEqual([message(5, 0), message(7, 1), message(9, 9)]);
  });

  it('follows a staged message across the end of the region (padding record)', () => {
    const dead = makeRing({ capacity: 4, maxMessageSize: 64 });
    const reader = SpscRingBuffer.attach(dead.buffer, 0);
    // Move both indices to 8 bytes before the end of the data region, so the next message wraps.
    while (dead.dataBytes - (dead.indices().tailBytes % dead.dataBytes) > 8) {
      dead.push(message(0, 0));
      reader.pop();
    }
    stagedBy(dead, [60]);
    const tailOffset = dead.indices().tailBytes % dead.dataBytes;
    const words = new Int32Array(dead.buffer);
    expect(words[(HEADER_BYTES + tailOffset) / 4 + 1]).toBe(RECORD_TYPE_PADDING);
    const heir = SpscRingBuffer.attach(dead.buffer, 0);
    // Past it lie the stale empty messages of the lap before: accept refuses those.
    expect(heir.adoptStaged((_offset, length) => length === 60)).toBe(1);
    expect(drain(reader)).toEqual([message(60, 1)]);
  });

  it('stops at anything that is not a well-formed record (stale or corrupt bytes)', () => {
    const dead = makeRing({ capacity: 8, maxMessageSize: 64 });
    stagedBy(dead, [10]);
    const words = new Int32Array(dead.buffer);
    words[HEADER_BYTES >> 2] = 4096; // a record length beyond maxMessageSize
    const heir = SpscRingBuffer.attach(dead.buffer, 0);
    expect(heir.adoptStaged(() => true)).toBe(0);
    expect(SpscRingBuffer.attach(dead.buffer, 0).peek()).toBeNull();
  });

  it('adopts no more than the ring can hold', () => {
    const dead = makeRing({ capacity: 2, maxMessageSize: 64 });
    stagedBy(dead, [8, 8]);
    const heir = SpscRingBuffer.attach(dead.buffer, 0);
    // Stale bytes past the staged records look like a third message; the ring is full by count.
    expect(heir.adoptStaged(() => true)).toBe(2);
  });
});

describe('pushBatch', () => {
  it('publishes every message when all fit and returns their number', () => {
    const producer = makeRing({ capacity: 8, maxMessageSize: 64 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    const batch = [message(1, 1), message(64, 2), message(0, 3)];
    expect(producer.pushBatch(batch)).toBe(3);
    expect(producer.indices().tailCount).toBe(3);
    expect(drain(consumer)).toEqual(batch);
  });

  it('publishes the longest prefix that fits by count', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 64 });
    const batch = [1, 2, 3, 4, 5, 6].map((i) => message(i, i));
    expect(ring.pushBatch(batch)).toBe(4);
    expect(drain(ring)).toEqual(batch.slice(0, 4));
  });

  it('publishes the longest prefix that fits by bytes, never a later message that would fit', () => {
    const ring = makeRing({ capacity: 16, maxMessageSize: 200 }); // 1024 data bytes
    expect(ring.pushBatch([0, 1, 2, 3, 4, 5].map((i) => message(200, i)))).toBe(4); // 832 bytes
    // 192 bytes left: the 8-byte message fits, the 200-byte one does not, so the last 8-byte one is not sent.
    expect(ring.pushBatch([message(8, 10), message(200, 11), message(8, 12)])).toBe(1);
    expect(ring.size()).toBe(5);
    expect(drain(ring)).toEqual([0, 1, 2, 3].map((i) => message(200, i)).concat([message(8, 10)]));
  });

  it('returns 0 for an empty batch or a full ring', () => {
    const ring = makeRing({ capacity: 2, maxMessageSize: 8 });
    expect(ring.pushBatch([])).toBe(0);
    ring.push(message(1));
    ring.push(message(1));
    expect(ring.pushBatch([message(1)])).toBe(0);
    expect(ring.size()).toBe(2);
  });

  it('throws ERR_PHOENIX_PAYLOAD_TOO_LARGE for an oversized message anywhere, publishing none of the batch', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    expectPhoenixError(() => ring.pushBatch([message(1), message(2), message(9)]), 'ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect(ring.empty()).toBe(true);
    expect(ring.push(message(8))).toBe(true);
  });

  it('also publishes messages staged before it', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    ring.pushEmplace(1)!.set(message(1, 1));
    ring.stage();
    expect(ring.pushBatch([message(2, 2)])).toBe(1);
    expect(drain(ring)).toEqual([message(1, 1), message(2, 2)]);
  });
});

describe('popBatch', () => {
  it('calls fn for each message in order with views valid during the call, and returns the count', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 32 });
    const sent = [message(3, 1), message(32, 2), message(0, 3), message(17, 4), message(9, 5)];
    ring.pushBatch(sent);
    const seen: Array<[Uint8Array, number]> = [];
    const count = ring.popBatch(10, (view, index) => {
      expect(view.buffer).toBe(ring.buffer);
      seen.push([view.slice(), index]);
    });
    expect(count).toBe(5);
    expect(seen).toEqual(sent.map((m, i) => [m, i]));
    expect(ring.empty()).toBe(true);
  });

  it('takes at most max messages', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    ring.pushBatch([1, 2, 3, 4, 5].map((i) => message(i, i)));
    const seen: Uint8Array[] = [];
    expect(ring.popBatch(2, (view) => seen.push(view.slice()))).toBe(2);
    expect(seen).toEqual([message(1, 1), message(2, 2)]);
    expect(ring.size()).toBe(3);
    expect(ring.peek()).toEqual(message(3, 3));
    expect(ring.popBatch(0, () => expect.unreachable())).toBe(0);
    expect(ring.size()).toBe(3);
  });

  it('returns 0 on an empty ring without calling fn', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    expect(ring.popBatch(8, () => expect.unreachable())).toBe(0);
  });

  it('releases all messages at once after the last callback (the producer cannot reuse them meanwhile)', () => {
    const producer = makeRing({ capacity: 4, maxMessageSize: 8 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    producer.pushBatch([1, 2, 3, 4].map((i) => message(8, i)));
    const count = consumer.popBatch(4, (view, index) => {
      expect(producer.push(message(8, 99))).toBe(false);
      expect(consumer.indices().headCount).toBe(0);
      expect(consumer.size()).toBe(4);
      expect(view).toEqual(message(8, index + 1));
    });
    expect(count).toBe(4);
    expect(consumer.indices().headCount).toBe(4);
    expect(producer.pushBatch([5, 6, 7, 8].map((i) => message(8, i)))).toBe(4);
  });

  it('when fn throws, counts the message it threw on as consumed and releases it', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    ring.pushBatch([1, 2, 3].map((i) => message(1, i)));
    expect(() =>
      ring.popBatch(8, (_view, index) => {
        if (index === 1) throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(ring.size()).toBe(1);
    expect(ring.peek()).toEqual(message(1, 3));
  });

  it('continues with a message peeked before it', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    ring.pushBatch([1, 2].map((i) => message(1, i)));
    expect(ring.peek()).toEqual(message(1, 1));
    const seen: Uint8Array[] = [];
    expect(ring.popBatch(8, (view) => seen.push(view.slice()))).toBe(2);
    expect(seen).toEqual([message(1, 1), message(1, 2)]);
  });
});

describe('forceAdvanceReadIndex', () => {
  it('skips exactly n messages and returns n', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    ring.pushBatch([1, 2, 3, 4, 5].map((i) => message(i, i)));
    expect(ring.forceAdvanceReadIndex(2)).toBe(2);
    expect(ring.size()).toBe(3);
    expect(ring.peek()).toEqual(message(3, 3));
  });

  it('skips only the messages present when fewer than n are, and returns their number', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    ring.pushBatch([1, 2, 3].map((i) => message(i, i)));
    expect(ring.forceAdvanceReadIndex(10)).toBe(3);
    expect(ring.empty()).toBe(true);
    expect(ring.forceAdvanceReadIndex(1)).toBe(0);
  });

  it('skips nothing for n = 0', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 8 });
    ring.push(message(1));
    expect(ring.forceAdvanceReadIndex(0)).toBe(0);
    expect(ring.size()).toBe(1);
  });

  it('frees the skipped messages for the producer', () => {
    const ring = makeRing({ capacity: 2, maxMessageSize: 8 });
    ring.pushBatch([message(1, 1), message(1, 2)]);
    expect(ring.push(message(1, 3))).toBe(false);
    ring.forceAdvanceReadIndex(1);
    expect(ring.push(message(1, 3))).toBe(true);
    expect(drain(ring)).toEqual([message(1, 2), message(1, 3)]);
  });

  it.each([-1, 1.5, Number.NaN])('rejects n = %s as an invalid argument', (n) => {
    const ring = makeRing({ capacity: 2, maxMessageSize: 8 });
    expectPhoenixError(() => ring.forceAdvanceReadIndex(n), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('messages that are not bytes, and a popBatch that cannot deliver', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'abc'],
    ['a Uint16Array', new Uint16Array([0x1234, 0x5678])],
    ['a number', 5],
  ])('push refuses %s with ERR_PHOENIX_INVALID_ARGUMENT and stores nothing', (_what, value) => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    expectPhoenixError(() => ring.push(value as never), 'ERR_PHOENIX_INVALID_ARGUMENT', /must be a Uint8Array/);
    expect(ring.size()).toBe(0);
  });

  it('pushBatch refuses a batch with a message that is not bytes before staging any of it', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    expectPhoenixError(() => ring.pushBatch([message(3, 1), 5 as never]), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expectPhoenixError(() => ring.pushBatch(5 as never), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expect(ring.hasUnpublished).toBe(false);
    ring.push(message(2, 9));
    expect(drain(ring)).toEqual([message(2, 9)]);
  });

  it('popBatch without a callback throws before taking anything: no message is lost', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 16 });
    ring.push(message(4, 7));
    expectPhoenixError(() => ring.popBatch(1, null as never), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expect(drain(ring)).toEqual([message(4, 7)]);
  });
});

describe('size, freeSpace, empty, full', () => {
  it('follow pushes and pops by message count', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 8 });
    const states: Array<[number, number, boolean, boolean]> = [];
    const record = () => states.push([ring.size(), ring.freeSpace(), ring.empty(), ring.full()]);
    record();
    for (let i = 0; i < 4; i++) {
      ring.push(message(i));
      record();
    }
    ring.pop();
    record();
    ring.forceAdvanceReadIndex(3);
    record();
    expect(states).toEqual([
      [0, 4, true, false],
      [1, 3, false, false],
      [2, 2, false, false],
      [3, 1, false, false],
      [4, 0, false, true],
      [3, 1, false, false],
      [0, 4, true, false],
    ]);
  });

  it('agree between the producer and an attached consumer', () => {
    const producer = makeRing({ capacity: 4, maxMessageSize: 8 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    producer.push(message(1));
    producer.push(message(2));
    expect([consumer.size(), consumer.freeSpace(), consumer.empty(), consumer.full()]).toEqual([2, 2, false, false]);
    consumer.pop();
    expect([producer.size(), producer.freeSpace(), producer.empty(), producer.full()]).toEqual([1, 3, false, false]);
  });

  it('do not count an emplaced message before commit', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 8 });
    ring.pushEmplace(8);
    expect(ring.size()).toBe(0);
    ring.commit();
    expect(ring.size()).toBe(1);
  });
});

describe('take, release and resync (extra consumer methods)', () => {
  it('take keeps views valid until release frees them together', () => {
    const producer = makeRing({ capacity: 2, maxMessageSize: 8 });
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    producer.pushBatch([message(8, 1), message(8, 2)]);
    const first = consumer.peek()!;
    consumer.take();
    const second = consumer.peek()!;
    consumer.take();
    expect(consumer.peek()).toBeNull();
    expect(producer.push(message(8, 3))).toBe(false);
    expect([first, second]).toEqual([message(8, 1), message(8, 2)]);
    consumer.release();
    expect(consumer.consumedCount()).toBe(2);
    expect(producer.push(message(8, 3))).toBe(true);
  });

  it('take without a peeked record is ERR_PHOENIX_INVALID_STATE', () => {
    const ring = makeRing({ capacity: 2, maxMessageSize: 8 });
    expectPhoenixError(() => ring.take(), 'ERR_PHOENIX_INVALID_STATE');
  });

  it('resync drops taken-but-unreleased records and staged messages', () => {
    const ring = makeRing({ capacity: 4, maxMessageSize: 8 });
    ring.push(message(1, 1));
    ring.peek();
    ring.take();
    ring.pushEmplace(1);
    ring.stage();
    ring.resync();
    expect(ring.hasUnpublished).toBe(false);
    expect(ring.peek()).toEqual(message(1, 1));
  });
});

describe('corrupted shared memory seen by the consumer', () => {
  function ringWithTwo(): { producer: SpscRingBuffer; consumer: SpscRingBuffer; words: Int32Array } {
    const producer = makeRing({ capacity: 8, maxMessageSize: 64 }); // 512 data bytes
    const consumer = SpscRingBuffer.attach(producer.buffer, 0);
    producer.push(message(20, 1)); // record at data offset 0, 32 bytes
    producer.push(message(20, 2)); // at 32
    return { producer, consumer, words: dataWords(producer) };
  }

  const consumerCalls: Array<[string, (ring: SpscRingBuffer) => unknown]> = [
    ['peek', (ring) => ring.peek()],
    ['pop', (ring) => ring.pop()],
    ['popBatch', (ring) => ring.popBatch(8, () => {})],
    ['forceAdvanceReadIndex', (ring) => ring.forceAdvanceReadIndex(8)],
  ];

  it.each(consumerCalls)('%s throws ERR_PHOENIX_BAD_RING on an unknown record type', (_name, call) => {
    const { consumer, words } = ringWithTwo();
    words[1] = 0x41;
    expectPhoenixError(() => call(consumer), 'ERR_PHOENIX_BAD_RING', /unknown record type 65 at data offset 0/);
  });

  it.each(consumerCalls)('%s throws ERR_PHOENIX_BAD_RING on a record length below the record header', (_name, call) => {
    const { consumer, words } = ringWithTwo();
    words[0] = 3;
    expectPhoenixError(() => call(consumer), 'ERR_PHOENIX_BAD_RING', /record length 3 /);
  });

  it.each(consumerCalls)(
    '%s throws ERR_PHOENIX_BAD_RING on a record longer than maxMessageSize allows',
    (_name, call) => {
      const { consumer, words } = ringWithTwo();
      words[0] = 8 + 65;
      expectPhoenixError(() => call(consumer), 'ERR_PHOENIX_BAD_RING', /record length 73 .*outside 8\.\.72/);
    },
  );

  it('throws ERR_PHOENIX_BAD_RING on a negative record length', () => {
    const { consumer, words } = ringWithTwo();
    words[0] = -8;
    expectPhoenixError(() => consumer.peek(), 'ERR_PHOENIX_BAD_RING', /record length -8 /);
  });

  it('throws ERR_PHOENIX_BAD_RING on a record that runs past the published data', () => {
    const { consumer, words } = ringWithTwo();
    words[8] = 8 + 64; // the second record now claims 72 bytes, only 32 are published
    consumer.pop();
    expectPhoenixError(() => consumer.peek(), 'ERR_PHOENIX_BAD_RING', /runs past the published data \(32 bytes\)/);
  });

  it('throws ERR_PHOENIX_BAD_RING on a padding record that does not reach the end of the region', () => {
    const { consumer, words } = ringWithTwo();
    words[1] = RECORD_TYPE_PADDING;
    expectPhoenixError(
      () => consumer.peek(),
      'ERR_PHOENIX_BAD_RING',
      /padding record of 28 bytes at 0 should fill the 512 bytes/,
    );
  });

  it('keeps the records before a corrupted one', () => {
    const { consumer, words } = ringWithTwo();
    words[9] = 0;
    expect(consumer.peek()).toEqual(message(20, 1));
    const seen: Uint8Array[] = [];
    expectPhoenixError(() => consumer.popBatch(8, (view) => seen.push(view.slice())), 'ERR_PHOENIX_BAD_RING');
    expect(seen).toEqual([message(20, 1)]);
    expect(consumer.consumedCount()).toBe(1);
  });

  it('throws ERR_PHOENIX_BAD_RING when the published tail falls behind the head', () => {
    const { producer, consumer } = ringWithTwo();
    expect(drain(consumer)).toHaveLength(2);
    writeHeader(producer.buffer, 0, TAIL_BYTES_OFFSET, 16);
    expectPhoenixError(() => consumer.peek(), 'ERR_PHOENIX_BAD_RING', /producer index 16 .* consumer index 64/);
  });

  it('throws ERR_PHOENIX_BAD_RING when the published tail is misaligned', () => {
    const { producer, consumer } = ringWithTwo();
    drain(consumer);
    writeHeader(producer.buffer, 0, TAIL_BYTES_OFFSET, 68);
    expectPhoenixError(() => consumer.peek(), 'ERR_PHOENIX_BAD_RING', /producer index 68/);
  });

  it('throws ERR_PHOENIX_BAD_RING when the published tail count runs more than capacity ahead', () => {
    const { producer, consumer } = ringWithTwo();
    drain(consumer);
    writeHeader(producer.buffer, 0, TAIL_BYTES_OFFSET, 96);
    writeHeader(producer.buffer, 0, TAIL_COUNT_OFFSET, 2 + 9);
    expectPhoenixError(() => consumer.peek(), 'ERR_PHOENIX_BAD_RING', /count 11/);
  });

  it('the producer throws ERR_PHOENIX_BAD_RING when the consumer count runs ahead of it', () => {
    const producer = makeRing({ capacity: 2, maxMessageSize: 8 });
    producer.pushBatch([message(1), message(1)]);
    writeHeader(producer.buffer, 0, HEAD_COUNT_OFFSET, 7);
    expectPhoenixError(
      () => producer.push(message(1)),
      'ERR_PHOENIX_BAD_RING',
      /consumer count 7 runs ahead of producer count 2/,
    );
  });
});

describe('two rings side by side in one buffer', () => {
  it('do not interfere', () => {
    const a: RingOptions = { capacity: 4, maxMessageSize: 120, dataBytes: 256 };
    const b: RingOptions = { capacity: 8, maxMessageSize: 100 };
    const offsetB = SpscRingBuffer.requiredBytes(a);
    const buffer = new SharedArrayBuffer(offsetB + SpscRingBuffer.requiredBytes(b));
    const ringA = SpscRingBuffer.format(buffer, 0, a);
    const ringB = SpscRingBuffer.format(buffer, offsetB, b);
    ringB.push(message(40, 50));
    // Fill A at every offset with maximum messages, right up to B's header.
    const sentA: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const m = message(120, i);
      if (!ringA.push(m)) {
        expect(ringA.pop()).toBe(true);
        sentA.shift();
        expect(ringA.push(m)).toBe(true);
      }
      sentA.push(m);
    }
    expect(ringB.size()).toBe(1);
    const attachedB = SpscRingBuffer.attach(buffer, offsetB);
    expect([attachedB.capacity, attachedB.maxMessageSize]).toEqual([8, 100]);
    expect(attachedB.peek()).toEqual(message(40, 50));
    expect(ringB.pushBatch([1, 2, 3, 4, 5, 6, 7].map((i) => message(40, 50 + i)))).toBe(7);
    expect(ringB.full()).toBe(true);
    expect(drain(SpscRingBuffer.attach(buffer, 0))).toEqual(sentA);
    expect(drain(attachedB)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => message(40, 50 + i)));
    expect(readHeader(buffer, 0, CAPACITY_OFFSET)).toBe(4);
    expect(readHeader(buffer, offsetB, CAPACITY_OFFSET)).toBe(8);
  });
});

describe('data and dataStart (payloads as offsets, no view per record)', () => {
  it('hold every payload, wrapped or not, at its absolute offset minus dataStart', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 40 }, { byteOffset: 64 });
    expect(ring.dataStart).toBe(64 + HEADER_BYTES);
    expect(ring.data.byteOffset).toBe(ring.dataStart);
    expect(ring.data.length).toBe(ring.dataBytes);
    // Enough laps that records land at every offset, including right after a wrap.
    for (let tag = 0; tag < 50; tag++) {
      const sent = message(1 + (tag % 40), tag);
      expect(ring.push(sent)).toBe(true);
      const payload = ring.peekRecord();
      const start = payload - ring.dataStart;
      expect([...ring.data.subarray(start, start + ring.peekedLength)]).toEqual([...sent]);
      ring.pop();
    }
  });
});

describe('record layout', () => {
  it('aligns every record to 8 bytes with an 8-byte header', () => {
    const ring = makeRing({ capacity: 8, maxMessageSize: 64 });
    const offsets = [0, 1, 7, 8, 9, 64].map((length) => {
      const before = ring.indices().tailBytes;
      ring.push(message(length));
      return ring.indices().tailBytes - before;
    });
    expect(offsets).toEqual([0, 1, 7, 8, 9, 64].map((length) => alignRecord(RECORD_HEADER_BYTES + length)));
  });
});

describe('PhoenixError', () => {
  it('is an Error with a name, a code and a message', () => {
    const error = new PhoenixError('ERR_PHOENIX_BAD_RING', 'broken');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(PhoenixError);
    expect(error.name).toBe('PhoenixError');
    expect(error.code).toBe('ERR_PHOENIX_BAD_RING');
    expect(error.message).toBe('broken');
    expect(error.stack).toContain('broken');
  });

  it('isInstance recognises PhoenixErrors and nothing else', () => {
    expect(PhoenixError.isInstance(new PhoenixError('ERR_PHOENIX_TIMEOUT', 'x'))).toBe(true);
    expect(PhoenixError.isInstance(new Error('x'))).toBe(false);
    expect(PhoenixError.isInstance({ code: 'ERR_PHOENIX_BAD_RING', name: 'PhoenixError' })).toBe(false);
    expect(PhoenixError.isInstance(null)).toBe(false);
    expect(PhoenixError.isInstance('ERR_PHOENIX_BAD_RING')).toBe(false);
  });

  it('isInstance and instanceof recognise an error branded by another copy of the package', () => {
    const foreign = Object.defineProperty(new Error('from elsewhere'), Symbol.for('phoenix-ipc.error'), {
      value: true,
    });
    expect(PhoenixError.isInstance(foreign)).toBe(true);
    expect(foreign instanceof PhoenixError).toBe(true);
  });

  it('the ring throws PhoenixErrors whose codes are in the catalogue', () => {
    const codes = [
      expectPhoenixError(() => SpscRingBuffer.attach(new ArrayBuffer(1024), 0), 'ERR_PHOENIX_BAD_RING'),
      expectPhoenixError(() => makeRing({ capacity: 3, maxMessageSize: 1 }), 'ERR_PHOENIX_INVALID_ARGUMENT'),
      expectPhoenixError(
        () => makeRing({ capacity: 1, maxMessageSize: 1 }).push(message(2)),
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
      ),
      expectPhoenixError(() => makeRing({ capacity: 1, maxMessageSize: 1 }).commit(), 'ERR_PHOENIX_INVALID_STATE'),
    ].map((error) => {
      expect(error).toBeInstanceOf(Error);
      return error.code;
    });
    for (const code of codes) expect(Object.keys(ERROR_CODES)).toContain(code);
  });

  it('from() keeps a PhoenixError and wraps anything else with the fallback code and the cause', () => {
    const original = new PhoenixError('ERR_PHOENIX_BAD_RING', 'x');
    expect(PhoenixError.from(original)).toBe(original);
    const cause = new Error('low level');
    const wrapped = PhoenixError.from(cause, 'ERR_PHOENIX_INVALID_STATE');
    expect(wrapped.code).toBe('ERR_PHOENIX_INVALID_STATE');
    expect(wrapped.message).toBe('low level');
    expect(wrapped.cause).toBe(cause);
  });
});
