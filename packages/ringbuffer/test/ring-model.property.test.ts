/**
 * Over 400 lines on purpose: the model, its commands and their checks must be read together.
 *
 * Model-based test: random command sequences run against the ring and against
 * a plain model (a FIFO of byte arrays plus the byte positions the layout
 * implies), on many small ring configurations, starting at random index
 * values (also just below the u32 wrap), so that records wrap at every
 * offset. The producer is the formatting instance; a second, attached instance
 * is the consumer; every step checks both against the model.
 */
import fc from 'fast-check';
import { beforeEach, describe, it } from 'vitest';
import { PhoenixError, RingDescriptor, SpscRingBuffer } from '../src/index.js';
import { HEADER_BYTES, message, RECORD_HEADER_BYTES, writeIndices } from './helpers.js';

const { alignRecord, nextPowerOfTwo } = RingDescriptor;
const U32 = 2 ** 32;

type Size = number; // 0..1000, scaled to 0..maxMessageSize
type Command =
  | { kind: 'push'; size: Size }
  | { kind: 'oversize' }
  | { kind: 'emplaceCommit'; size: Size; commit: number | null } // commit: 0..1000 of the reserved size, or null for all of it
  | { kind: 'emplaceAbort'; size: Size }
  | { kind: 'pushBatch'; sizes: Size[] }
  | { kind: 'peek' }
  | { kind: 'pop' }
  | { kind: 'popBatch'; max: number }
  | { kind: 'forceAdvance'; count: number }
  | { kind: 'restartConsumer' }
  | { kind: 'inspect' };

interface Config {
  capacity: number;
  maxMessageSize: number;
  dataBytesMode: 'default' | 'minimum' | 'double';
  startBytes: number;
  startCount: number;
  byteOffset: number;
}

const sizeArb: fc.Arbitrary<Size> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 1000 }), weight: 8 },
  { arbitrary: fc.constant(1000), weight: 2 },
  { arbitrary: fc.constant(0), weight: 1 },
);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('push' as const), size: sizeArb }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'oversize' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('emplaceCommit' as const),
      size: sizeArb,
      commit: fc.option(fc.integer({ min: 0, max: 1000 })),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('emplaceAbort' as const), size: sizeArb }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('pushBatch' as const),
      sizes: fc.array(sizeArb, { maxLength: 20, size: 'max' }),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: 'peek' as const }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'pop' as const }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('popBatch' as const), max: fc.integer({ min: 0, max: 20 }) }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('forceAdvance' as const), count: fc.integer({ min: 0, max: 20 }) }),
    weight: 1,
  },
  { arbitrary: fc.constant({ kind: 'restartConsumer' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'inspect' as const }), weight: 1 },
);

const alignedIndexArb: fc.Arbitrary<number> = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 200 }).map((k) => U32 - 8 * k), // just below the wrap
  fc.integer({ min: 0, max: U32 / 8 - 1 }).map((k) => k * 8),
);

const countArb: fc.Arbitrary<number> = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 40 }).map((k) => U32 - k),
  fc.integer({ min: 0, max: U32 - 1 }),
);

function configArb(capacities: number[], maxSizes: fc.Arbitrary<number>): fc.Arbitrary<Config> {
  return fc.record({
    capacity: fc.constantFrom(...capacities),
    maxMessageSize: maxSizes,
    dataBytesMode: fc.constantFrom('default' as const, 'minimum' as const, 'double' as const),
    startBytes: alignedIndexArb,
    startCount: countArb,
    byteOffset: fc.integer({ min: 0, max: 8 }).map((k) => k * 8),
  });
}

class ModelFailure extends Error {}

function check(condition: boolean, what: () => string): void {
  if (!condition) throw new ModelFailure(what());
}

function sameBytes(actual: Uint8Array | null, expected: Uint8Array | null): boolean {
  if (actual === null || expected === null) return actual === expected;
  if (actual.length !== expected.length) return false;
  for (let i = 0; i < actual.length; i++) if (actual[i] !== expected[i]) return false;
  return true;
}

interface ModelRecord {
  data: Uint8Array;
  pad: number; // padding bytes the producer put in front of it (wrap)
  aligned: number;
  skipPending: boolean; // the consumer has peeked past the padding but not yet released
}

/** The reference: a FIFO, plus the byte positions the record layout implies. */
class Model {
  records: ModelRecord[] = [];
  head: number; // published head (bytes, unbounded)
  tail: number;
  headCount: number;
  tailCount: number;

  constructor(
    readonly capacity: number,
    readonly dataBytes: number,
    startBytes: number,
    startCount: number,
  ) {
    this.head = this.tail = startBytes;
    this.headCount = this.tailCount = startCount;
  }

  /** Where a payload of `size` bytes would go: the padding in front of it, or null when it does not fit. */
  fit(size: number): { pad: number } | null {
    if (this.records.length >= this.capacity) {
      seen.fullByCount++;
      return null;
    }
    const record = alignRecord(RECORD_HEADER_BYTES + size);
    const toEnd = this.dataBytes - (this.tail % this.dataBytes);
    const pad = record <= toEnd ? 0 : toEnd;
    if (this.tail - this.head + pad + record > this.dataBytes) {
      seen.fullByBytes++;
      return null;
    }
    return { pad };
  }

  add(data: Uint8Array, pad: number): void {
    if (pad > 0) seen.wraps++;
    const aligned = alignRecord(RECORD_HEADER_BYTES + data.length);
    this.records.push({ data, pad, aligned, skipPending: false });
    this.tail += pad + aligned;
    this.tailCount++;
  }

  /** A consumer call that releases: padding the consumer already skipped is published with it. */
  beginRelease(): void {
    const front = this.records[0];
    if (front?.skipPending) {
      seen.skippedPaddingReleased++;
      this.head += front.pad;
      front.pad = 0;
      front.skipPending = false;
    }
  }

  remove(): ModelRecord {
    const front = this.records.shift()!;
    this.head += front.pad + front.aligned;
    this.headCount++;
    return front;
  }

  indices(): { headBytes: number; tailBytes: number; headCount: number; tailCount: number } {
    return {
      headBytes: this.head % U32,
      tailBytes: this.tail % U32,
      headCount: this.headCount % U32,
      tailCount: this.tailCount % U32,
    };
  }
}

function dataBytesOf(config: Config): number | undefined {
  const minimum = nextPowerOfTwo(2 * alignRecord(RECORD_HEADER_BYTES + config.maxMessageSize));
  if (config.dataBytesMode === 'minimum') return Math.max(minimum, 64);
  if (config.dataBytesMode === 'double') return Math.max(minimum, 64) * 2;
  return undefined;
}

const GUARD = 0xa5;

/** What the runs went through, so that a test can check it exercised the interesting cases. */
const seen = {
  commands: 0,
  wraps: 0, // records placed after a padding record
  fullByCount: 0,
  fullByBytes: 0,
  skippedPaddingReleased: 0, // a peek skipped padding, a later call published it
  u32Wraps: 0, // runs whose tail index passed 2^32
};

function resetSeen(): void {
  for (const key of Object.keys(seen) as Array<keyof typeof seen>) seen[key] = 0;
}

function runScenario(config: Config, commands: Command[]): void {
  const options = { capacity: config.capacity, maxMessageSize: config.maxMessageSize, dataBytes: dataBytesOf(config) };
  const ringBytes = SpscRingBuffer.requiredBytes(options);
  const { byteOffset } = config;
  const buffer = new ArrayBuffer(byteOffset + ringBytes + 64);
  const all = new Uint8Array(buffer);
  all.fill(GUARD);
  const formatted = SpscRingBuffer.format(buffer, byteOffset, options);
  let producer = formatted;
  if (config.startBytes !== 0 || config.startCount !== 0) {
    writeIndices(buffer, byteOffset, {
      headBytes: config.startBytes,
      tailBytes: config.startBytes,
      headCount: config.startCount,
      tailCount: config.startCount,
    });
    producer = SpscRingBuffer.attach(buffer, byteOffset);
  }
  let consumer = SpscRingBuffer.attach(buffer, byteOffset);
  const { capacity, maxMessageSize, dataBytes } = producer;
  const model = new Model(capacity, dataBytes, config.startBytes, config.startCount);
  const dataStart = byteOffset + HEADER_BYTES;
  const dataEnd = dataStart + dataBytes;
  let tag = 0;
  const scale = (size: Size) => Math.round((size * maxMessageSize) / 1000);
  const inData = (view: Uint8Array) =>
    view.buffer === buffer && view.byteOffset >= dataStart && view.byteOffset + view.length <= dataEnd;

  const checkState = (step: number) => {
    const expected = model.records.length;
    for (const [name, ring] of [
      ['producer', producer],
      ['consumer', consumer],
    ] as const) {
      const state = [ring.size(), ring.freeSpace(), ring.empty(), ring.full()];
      const want = [expected, capacity - expected, expected === 0, expected === capacity];
      check(
        state.every((value, i) => value === want[i]),
        () => `step ${step}: ${name} size/freeSpace/empty/full ${state} != ${want}`,
      );
    }
    const actual = consumer.indices();
    const want = model.indices();
    check(
      actual.headBytes === want.headBytes &&
        actual.tailBytes === want.tailBytes &&
        actual.headCount === want.headCount &&
        actual.tailCount === want.tailCount,
      () => `step ${step}: indices ${JSON.stringify(actual)} != model ${JSON.stringify(want)}`,
    );
  };

  seen.commands += commands.length;
  commands.forEach((command, step) => {
    const where = () => `step ${step} ${JSON.stringify(command)}`;
    switch (command.kind) {
      case 'push': {
        const data = message(scale(command.size), tag++);
        const fit = model.fit(data.length);
        const pushed = producer.push(data);
        check(pushed === (fit !== null), () => `${where()}: push returned ${pushed}, model fit ${JSON.stringify(fit)}`);
        if (fit) model.add(data, fit.pad);
        break;
      }
      case 'oversize': {
        let error: unknown;
        try {
          producer.push(new Uint8Array(maxMessageSize + 1));
        } catch (caught) {
          error = caught;
        }
        check(
          PhoenixError.isInstance(error) && error.code === 'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
          () => `${where()}: ${String(error)}`,
        );
        break;
      }
      case 'emplaceCommit': {
        const reserved = scale(command.size);
        const fit = model.fit(reserved);
        const view = producer.pushEmplace(reserved);
        check(
          (view !== null) === (fit !== null),
          () => `${where()}: pushEmplace ${view === null ? 'null' : 'view'}, model fit ${JSON.stringify(fit)}`,
        );
        if (view === null || fit === null) break;
        check(view.length === reserved && inData(view), () => `${where()}: view outside the data region`);
        const length = command.commit === null ? reserved : Math.round((command.commit * reserved) / 1000);
        const data = message(length, tag++);
        view.fill(0xee);
        view.set(data);
        if (command.commit === null) producer.commit();
        else producer.commit(length);
        model.add(data, fit.pad);
        break;
      }
      case 'emplaceAbort': {
        const reserved = scale(command.size);
        const fit = model.fit(reserved);
        const view = producer.pushEmplace(reserved);
        check(
          (view !== null) === (fit !== null),
          () => `${where()}: pushEmplace ${view === null ? 'null' : 'view'}, model fit ${JSON.stringify(fit)}`,
        );
        if (view !== null) {
          check(inData(view), () => `${where()}: view outside the data region`);
          view.fill(0xee);
          producer.abort();
        }
        break;
      }
      case 'pushBatch': {
        const batch = command.sizes.map((size) => message(scale(size), tag++));
        let expected = 0;
        for (const data of batch) {
          const fit = model.fit(data.length);
          if (fit === null) break;
          model.add(data, fit.pad);
          expected++;
        }
        const pushed = producer.pushBatch(batch);
        check(pushed === expected, () => `${where()}: pushBatch returned ${pushed}, model ${expected}`);
        break;
      }
      case 'peek': {
        const view = consumer.peek();
        const front = model.records[0];
        check(sameBytes(view, front?.data ?? null), () => `${where()}: peek ${view} != model ${front?.data}`);
        if (view) check(inData(view), () => `${where()}: view outside the data region`);
        if (front && front.pad > 0) front.skipPending = true;
        break;
      }
      case 'pop': {
        const present = model.records.length > 0;
        model.beginRelease();
        if (present) model.remove();
        const popped = consumer.pop();
        check(popped === present, () => `${where()}: pop returned ${popped}, model ${present}`);
        break;
      }
      case 'popBatch': {
        model.beginRelease();
        const expected: Uint8Array[] = [];
        while (expected.length < command.max && model.records.length > 0) expected.push(model.remove().data);
        let index = 0;
        const count = consumer.popBatch(command.max, (view, i) => {
          check(i === index, () => `${where()}: callback index ${i}, expected ${index}`);
          check(inData(view), () => `${where()}: view outside the data region`);
          check(
            sameBytes(view, expected[index] ?? null),
            () => `${where()}: message ${index} ${view} != model ${expected[index]}`,
          );
          index++;
        });
        check(
          count === expected.length && index === count,
          () => `${where()}: popBatch returned ${count} (${index} calls), model ${expected.length}`,
        );
        break;
      }
      case 'forceAdvance': {
        model.beginRelease();
        let expected = 0;
        while (expected < command.count && model.records.length > 0) {
          model.remove();
          expected++;
        }
        const skipped = consumer.forceAdvanceReadIndex(command.count);
        check(skipped === expected, () => `${where()}: forceAdvanceReadIndex returned ${skipped}, model ${expected}`);
        break;
      }
      case 'restartConsumer': {
        // A new consumer starts from the published head: padding the old one skipped privately is not skipped.
        consumer = SpscRingBuffer.attach(buffer, byteOffset);
        const front = model.records[0];
        if (front) front.skipPending = false;
        break;
      }
      case 'inspect': {
        const observer = SpscRingBuffer.attach(buffer, byteOffset);
        check(
          observer.capacity === capacity &&
            observer.maxMessageSize === maxMessageSize &&
            observer.dataBytes === dataBytes,
          () => `${where()}: attach read another configuration`,
        );
        check(
          sameBytes(observer.peek(), model.records[0]?.data ?? null),
          () => `${where()}: an observer peeks another front`,
        );
        break;
      }
    }
    checkState(step);
  });

  if (model.tail >= U32) seen.u32Wraps++;

  // Drain whatever is left and compare, then check nothing outside the ring was written.
  model.beginRelease();
  const rest = model.records.map((record) => record.data);
  const drained: Uint8Array[] = [];
  consumer.popBatch(rest.length + 1, (view) => drained.push(view.slice()));
  check(
    drained.length === rest.length && drained.every((d, i) => sameBytes(d, rest[i]!)),
    () => 'final drain differs from the model',
  );
  check(consumer.empty() && producer.empty(), () => 'ring not empty after the drain');
  for (let i = 0; i < byteOffset; i++) check(all[i] === GUARD, () => `byte ${i} before the ring was written`);
  for (let i = byteOffset + ringBytes; i < all.length; i++)
    check(all[i] === GUARD, () => `byte ${i} after the ring was written`);
}

const seed = process.env.PHOENIX_FC_SEED === undefined ? undefined : Number(process.env.PHOENIX_FC_SEED);

function checkCoverage(minimumCommands: number): void {
  check(seen.commands >= minimumCommands, () => `only ${seen.commands} commands ran`);
  for (const key of ['wraps', 'fullByCount', 'fullByBytes', 'skippedPaddingReleased', 'u32Wraps'] as const) {
    check(seen[key] > 0, () => `no run exercised ${key}: ${JSON.stringify(seen)}`);
  }
}

describe('SpscRingBuffer against a FIFO model', () => {
  beforeEach(resetSeen);

  it('agrees on every command for small rings (capacity 1..16, maxMessageSize 0..200)', () => {
    fc.assert(
      fc.property(
        configArb([1, 2, 4, 8, 16], fc.integer({ min: 0, max: 200 })),
        fc.array(commandArb, { minLength: 1, maxLength: 250, size: 'max' }),
        runScenario,
      ),
      { numRuns: 3000, seed },
    );
    checkCoverage(100_000);
  });

  it('agrees on every command for tiny rings that wrap on almost every message', () => {
    fc.assert(
      fc.property(
        configArb([1, 2, 4], fc.integer({ min: 0, max: 24 })),
        fc.array(commandArb, { minLength: 1, maxLength: 250, size: 'max' }),
        runScenario,
      ),
      { numRuns: 1500, seed },
    );
    checkCoverage(50_000);
  });

  it('agrees on long sequences', () => {
    fc.assert(
      fc.property(
        configArb([2, 8, 16], fc.integer({ min: 0, max: 200 })),
        fc.array(commandArb, { minLength: 500, maxLength: 2000, size: 'max' }),
        runScenario,
      ),
      { numRuns: 200, seed },
    );
    checkCoverage(100_000);
  });
});
