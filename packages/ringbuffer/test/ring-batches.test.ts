// Batches and the consumer's extra methods: pushBatch, popBatch, forceAdvanceReadIndex, size and room, take,
// release and resync, and messages that are not bytes.
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { SpscRingBuffer } from '../src/index.js';
import { drain, makeRing, message } from './helpers.js';

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
