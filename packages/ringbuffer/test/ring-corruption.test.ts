// Shared memory a broken or hostile peer wrote: what the consumer sees, and typed errors for it; two rings in one
// buffer; payloads as offsets; the record layout.
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PhoenixError, RingDescriptor, type RingOptions, SpscRingBuffer } from '../src/index.js';
import {
  CAPACITY_OFFSET,
  dataWords,
  drain,
  HEAD_COUNT_OFFSET,
  HEADER_BYTES,
  makeRing,
  message,
  RECORD_HEADER_BYTES,
  RECORD_TYPE_PADDING,
  readHeader,
  TAIL_BYTES_OFFSET,
  TAIL_COUNT_OFFSET,
  writeHeader,
} from './helpers.js';

const { alignRecord } = RingDescriptor;

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
