// One producer and one consumer: FIFO, wrap-around, in-place writes (pushEmplace, commit, abort), room checks,
// and taking over a dead producer's staged records.
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { SpscRingBuffer } from '../src/index.js';
import { advanceEmptyRing, dataWords, drain, HEADER_BYTES, makeRing, message, RECORD_TYPE_PADDING } from './helpers.js';

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
