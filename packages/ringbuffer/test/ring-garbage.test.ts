/**
 * Garbage in shared memory: seeded random bytes over a ring's header, its
 * data region or its indices. `attach` and the consumer either keep working
 * with sane results or throw PhoenixError ERR_PHOENIX_BAD_RING: never another
 * exception, never an endless loop (every loop here is bounded and fails when
 * the bound is reached), never a view outside the ring's data region, and no
 * write outside the ring's bytes.
 */

import { mulberry32 } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { PhoenixError, RingDescriptor, SpscRingBuffer } from '../src/index.js';
import {
  CAPACITY_OFFSET,
  CHECK_OFFSET,
  DATA_BYTES_OFFSET,
  fixCheckWord,
  HEAD_BYTES_OFFSET,
  HEAD_COUNT_OFFSET,
  HEADER_BYTES,
  MAGIC_OFFSET,
  MAX_MESSAGE_SIZE_OFFSET,
  message,
  RECORD_TYPE_MESSAGE,
  RECORD_TYPE_PADDING,
  TAIL_BYTES_OFFSET,
  TAIL_COUNT_OFFSET,
  VERSION_OFFSET,
  writeHeader,
} from './helpers.js';

const { RING_MAGIC, RING_VERSION } = RingDescriptor;
const SEED = Number(process.env.PHOENIX_GARBAGE_SEED ?? 0x5eed);
const TRIALS = Number(process.env.PHOENIX_GARBAGE_TRIALS ?? 3000);
const GUARD = 0x5c;
const GUARD_BYTES = 256;

type Random = () => number;

class Trial {
  readonly int: (n: number) => number;
  constructor(readonly random: Random) {
    this.int = (n) => Math.floor(random() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  u32(): number {
    return Math.floor(this.random() * 2 ** 32);
  }
}

interface Setup {
  buffer: ArrayBuffer;
  byteOffset: number;
  producer: SpscRingBuffer;
  consumer: SpscRingBuffer;
  published: number; // messages in the ring before the garbage
}

/** A small ring with guard bytes around it, advanced to a random offset, with some messages published. */
function setUp(t: Trial): Setup {
  const capacity = 2 ** t.int(7); // 1..64
  const maxMessageSize = t.pick([0, 1, 8, 24, 100, 300]);
  const options = { capacity, maxMessageSize };
  const byteOffset = GUARD_BYTES;
  const buffer = new ArrayBuffer(byteOffset + SpscRingBuffer.requiredBytes(options) + GUARD_BYTES + 8192);
  new Uint8Array(buffer).fill(GUARD);
  const producer = SpscRingBuffer.format(buffer, byteOffset, options);
  const consumer = SpscRingBuffer.attach(buffer, byteOffset);
  // Move around the ring so that records sit at a random offset and some wrap.
  for (let i = t.int(3 * capacity); i > 0; i--) {
    if (!producer.push(message(t.int(maxMessageSize + 1), i))) consumer.pop();
  }
  consumer.forceAdvanceReadIndex(t.int(capacity + 1));
  let published = consumer.size();
  for (let i = t.int(capacity + 1); i > 0; i--) if (producer.push(message(t.int(maxMessageSize + 1), i))) published++;
  return { buffer, byteOffset, producer, consumer, published };
}

/** Fails the test unless `error` is the one error garbage may cause. */
function expectBadRing(error: unknown, what: string): void {
  if (PhoenixError.isInstance(error) && error.code === 'ERR_PHOENIX_BAD_RING') return;
  throw new Error(
    `${what}: expected ERR_PHOENIX_BAD_RING, got ${error instanceof Error ? error.stack : String(error)}`,
  );
}

const outcomes = {
  attached: 0,
  rejectedAtAttach: 0,
  consumedAll: 0,
  rejectedByConsumer: 0,
  messagesRead: 0,
  producerWorked: 0,
};

/**
 * Runs random consumer calls until the ring reads empty or the ring throws
 * ERR_PHOENIX_BAD_RING; checks every view; bounded by the most records the
 * published bytes can hold.
 */
function exerciseConsumer(t: Trial, ring: SpscRingBuffer, what: string): void {
  const buffer = ring.buffer;
  const dataStart = ring.byteOffset + HEADER_BYTES;
  const dataEnd = dataStart + ring.dataBytes;
  const checkView = (view: Uint8Array) => {
    if (view.buffer !== buffer || view.byteOffset < dataStart || view.byteOffset + view.length > dataEnd) {
      throw new Error(
        `${what}: view [${view.byteOffset}, +${view.length}) outside the data region [${dataStart}, ${dataEnd})`,
      );
    }
    if (view.length > ring.maxMessageSize) throw new Error(`${what}: view of ${view.length} bytes > maxMessageSize`);
    outcomes.messagesRead++;
  };
  // Each call that finds something takes a record of 8 bytes or more out of at most dataBytes published bytes.
  const bound = ring.dataBytes / 8 + 4;
  try {
    for (let step = 0; ; step++) {
      if (step > bound) throw new Error(`${what}: consumer still finds messages after ${step} calls (endless loop?)`);
      let progressed: boolean;
      switch (t.int(4)) {
        case 0: {
          const view = ring.peek();
          if (view !== null) {
            checkView(view);
            if (ring.peek() !== null && ring.peek()!.byteOffset !== view.byteOffset)
              throw new Error(`${what}: peek moved`);
            ring.pop();
          }
          progressed = view !== null;
          break;
        }
        case 1:
          progressed = ring.pop();
          break;
        case 2: {
          const max = 1 + t.int(8);
          let calls = 0;
          const count = ring.popBatch(max, (view, index) => {
            if (index !== calls++) throw new Error(`${what}: popBatch index ${index}, expected ${calls - 1}`);
            checkView(view);
          });
          if (count !== calls || count > max)
            throw new Error(`${what}: popBatch returned ${count} after ${calls} calls (max ${max})`);
          progressed = count > 0;
          break;
        }
        default: {
          const max = 1 + t.int(8);
          const skipped = ring.forceAdvanceReadIndex(max);
          if (!Number.isInteger(skipped) || skipped < 0 || skipped > max)
            throw new Error(`${what}: skipped ${skipped} of ${max}`);
          progressed = skipped > 0;
        }
      }
      const size = ring.size();
      if (!Number.isInteger(size) || size < 0 || size > ring.capacity) throw new Error(`${what}: size() ${size}`);
      if (!progressed) break;
    }
    outcomes.consumedAll++;
  } catch (error) {
    expectBadRing(error, what);
    outcomes.rejectedByConsumer++;
  }
}

/** The producer side must also only work or throw ERR_PHOENIX_BAD_RING, and write only inside the ring. */
function exerciseProducer(t: Trial, ring: SpscRingBuffer, what: string): void {
  try {
    for (let i = 0; i < 4; i++) {
      const view = ring.pushEmplace(t.int(ring.maxMessageSize + 1));
      if (view === null) break;
      const dataStart = ring.byteOffset + HEADER_BYTES;
      if (view.byteOffset < dataStart || view.byteOffset + view.length > dataStart + ring.dataBytes) {
        throw new Error(`${what}: pushEmplace view outside the data region`);
      }
      view.fill(0x77);
      ring.commit();
      outcomes.producerWorked++;
    }
  } catch (error) {
    expectBadRing(error, what);
  }
}

function checkGuards(setup: Setup, ringBytes: number, what: string): void {
  const all = new Uint8Array(setup.buffer);
  for (let i = 0; i < setup.byteOffset; i++)
    if (all[i] !== GUARD) throw new Error(`${what}: byte ${i} before the ring written`);
  for (let i = setup.byteOffset + ringBytes; i < all.length; i++) {
    if (all[i] !== GUARD)
      throw new Error(`${what}: byte ${i} after the ring (which ends at ${setup.byteOffset + ringBytes}) written`);
  }
}

/** attach must work or throw ERR_PHOENIX_BAD_RING; a ring it returns must then behave. */
function attachAndExercise(t: Trial, setup: Setup, what: string): void {
  // The supervisor's look without attaching must say what attach says.
  const problem = SpscRingBuffer.headerProblem(new Int32Array(setup.buffer), setup.byteOffset);
  let ring: SpscRingBuffer;
  try {
    ring = SpscRingBuffer.attach(setup.buffer, setup.byteOffset);
  } catch (error) {
    expectBadRing(error, `${what} (attach)`);
    expect(problem, `${what}: headerProblem`).toBe((error as Error).message);
    outcomes.rejectedAtAttach++;
    checkGuards(setup, setup.producer.dataBytes + HEADER_BYTES, what);
    return;
  }
  outcomes.attached++;
  expect(problem, `${what}: headerProblem`).toBeNull();
  const end = ring.byteOffset + HEADER_BYTES + ring.dataBytes;
  if (end > setup.buffer.byteLength || ring.capacity < 1)
    throw new Error(`${what}: attached ring runs past the buffer`);
  exerciseConsumer(t, ring, what);
  exerciseProducer(t, ring, what);
  exerciseConsumer(t, ring, `${what} (after the producer)`);
  checkGuards(setup, Math.max(setup.producer.dataBytes, ring.dataBytes) + HEADER_BYTES, what);
}

function runTrials(name: string, trial: (t: Trial, setup: Setup, what: string) => void): void {
  const random = mulberry32(SEED ^ [...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 0x01000193), 0x811c9dc5));
  for (let n = 0; n < TRIALS; n++) {
    const t = new Trial(random);
    const setup = setUp(t);
    trial(t, setup, `${name} trial ${n} (seed ${SEED})`);
  }
}

describe('garbage over a ring', () => {
  it('over the header: attach works or throws ERR_PHOENIX_BAD_RING, and the ring then behaves', () => {
    const before = { ...outcomes };
    runTrials('header', (t, setup, what) => {
      const words = new DataView(setup.buffer, setup.byteOffset, HEADER_BYTES);
      switch (t.int(4)) {
        case 0: // a few random bytes anywhere in the header
          for (let i = 1 + t.int(4); i > 0; i--) words.setUint8(t.int(HEADER_BYTES), t.int(256));
          break;
        case 1: // one config field replaced, check word sometimes made to match
          words.setUint32(
            t.pick([CAPACITY_OFFSET, MAX_MESSAGE_SIZE_OFFSET, DATA_BYTES_OFFSET, VERSION_OFFSET]),
            t.pick([0, 1, 2, 3, 64, 4096, 2 ** 24, 2 ** 30, 2 ** 31, t.u32()]),
            true,
          );
          if (t.int(2) === 0) fixCheckWord(setup.buffer, setup.byteOffset);
          break;
        case 2: // the whole header random, with a valid-looking magic, version and check word half of the time
          for (let i = 0; i < HEADER_BYTES; i++) words.setUint8(i, t.int(256));
          if (t.int(2) === 0) {
            words.setUint32(MAGIC_OFFSET, RING_MAGIC, true);
            words.setUint32(VERSION_OFFSET, RING_VERSION, true);
            words.setUint32(CAPACITY_OFFSET, 2 ** t.int(8), true);
            words.setUint32(MAX_MESSAGE_SIZE_OFFSET, t.int(400), true);
            words.setUint32(DATA_BYTES_OFFSET, 2 ** (6 + t.int(8)), true);
            fixCheckWord(setup.buffer, setup.byteOffset);
          }
          break;
        default: // the check word only
          words.setUint32(CHECK_OFFSET, t.u32(), true);
      }
      attachAndExercise(t, setup, what);
    });
    expect(outcomes.rejectedAtAttach - before.rejectedAtAttach).toBeGreaterThan(TRIALS / 4);
    expect(outcomes.attached - before.attached).toBeGreaterThan(TRIALS / 20);
  });

  it('over the data region: the consumer reads valid messages or throws ERR_PHOENIX_BAD_RING', () => {
    const before = { ...outcomes };
    runTrials('data', (t, setup, what) => {
      const { producer } = setup;
      const dataStart = setup.byteOffset + HEADER_BYTES;
      const data = new DataView(setup.buffer, dataStart, producer.dataBytes);
      switch (t.int(3)) {
        case 0: // random bytes anywhere
          for (let i = 1 + t.int(16); i > 0; i--) data.setUint8(t.int(producer.dataBytes), t.int(256));
          break;
        case 1: {
          // plausible and implausible record headers at random record positions
          for (let i = 1 + t.int(3); i > 0; i--) {
            const at = 8 * t.int(producer.dataBytes / 8);
            const toEnd = producer.dataBytes - at;
            const length = t.pick([
              0,
              7,
              8,
              9,
              16,
              producer.maxMessageSize + 8,
              producer.maxMessageSize + 9,
              toEnd,
              toEnd + 8,
              -8,
              t.u32(),
            ]);
            data.setInt32(at, length | 0, true);
            data.setInt32(at + 4, t.pick([RECORD_TYPE_MESSAGE, RECORD_TYPE_PADDING, 0, t.u32() | 0]), true);
          }
          break;
        }
        default: // the whole data region random
          for (let i = 0; i < producer.dataBytes; i++) data.setUint8(i, t.int(256));
      }
      if (t.int(2) === 0) exerciseConsumer(t, setup.consumer, `${what} (existing consumer)`);
      attachAndExercise(t, setup, what);
    });
    expect(outcomes.rejectedByConsumer - before.rejectedByConsumer).toBeGreaterThan(TRIALS / 10);
    expect(outcomes.messagesRead - before.messagesRead).toBeGreaterThan(TRIALS);
  });

  it('over the indices: attach or the consumer works or throws ERR_PHOENIX_BAD_RING', () => {
    const before = { ...outcomes };
    runTrials('indices', (t, setup, what) => {
      const { producer } = setup;
      const current = producer.indices();
      const plausible = (value: number) =>
        (value +
          t.pick([0, 8, -8, 16, 4, producer.dataBytes, -producer.dataBytes, 8 * t.int(producer.dataBytes / 8)])) >>>
        0;
      const fields: Array<[number, number]> = [
        [HEAD_BYTES_OFFSET, current.headBytes],
        [TAIL_BYTES_OFFSET, current.tailBytes],
        [HEAD_COUNT_OFFSET, current.headCount],
        [TAIL_COUNT_OFFSET, current.tailCount],
      ];
      for (const [offset, value] of fields) {
        const choice = t.int(4);
        if (choice === 0) writeHeader(setup.buffer, setup.byteOffset, offset, t.u32());
        else if (choice === 1) writeHeader(setup.buffer, setup.byteOffset, offset, plausible(value));
        else if (choice === 2) writeHeader(setup.buffer, setup.byteOffset, offset, (value + t.int(5) - 2) >>> 0);
      }
      if (t.int(2) === 0) exerciseConsumer(t, setup.consumer, `${what} (existing consumer)`);
      if (t.int(2) === 0) exerciseProducer(t, producer, `${what} (existing producer)`);
      attachAndExercise(t, setup, what);
    });
    expect(outcomes.rejectedAtAttach - before.rejectedAtAttach).toBeGreaterThan(TRIALS / 4);
    expect(outcomes.attached - before.attached).toBeGreaterThan(TRIALS / 50);
  });

  it('over a whole region that never held a ring: attach throws ERR_PHOENIX_BAD_RING', () => {
    const random = mulberry32(SEED + 1);
    const t = new Trial(random);
    for (let n = 0; n < TRIALS; n++) {
      const bytes = new Uint8Array(8 * (1 + t.int(1024)));
      for (let i = 0; i < bytes.length; i++) bytes[i] = t.int(256);
      try {
        SpscRingBuffer.attach(bytes.buffer, 8 * t.int(Math.min(8, bytes.length / 8)));
        throw new Error(`trial ${n}: random bytes attached as a ring`);
      } catch (error) {
        expectBadRing(error, `random region trial ${n}`);
      }
    }
  });
});
