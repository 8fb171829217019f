// SpscRingBuffer's setup: how much memory a ring needs, formatting it, and attaching to one (every check of a
// header that crosses a process boundary).
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { RingDescriptor, type RingOptions, SpscRingBuffer } from '../src/index.js';
import {
  CAPACITY_OFFSET,
  DATA_BYTES_OFFSET,
  drain,
  fixCheckWord,
  HEADER_BYTES,
  MAGIC_OFFSET,
  MAX_MESSAGE_SIZE_OFFSET,
  makeRing,
  message,
  VERSION_OFFSET,
  writeHeader,
  writeIndices,
} from './helpers.js';

const { dataBytesFor } = RingDescriptor;

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
