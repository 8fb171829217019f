import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeGeometry,
  DEFAULT_LAYOUT_OPTIONS,
  LAYOUT_LIMITS,
  type LayoutOptions,
  PhoenixShmLayout,
  type ResolvedLayoutOptions,
  resolveLayoutOptions,
} from '../src/index.js';

// An independent model of the byte map in segment-descriptor.ts, for checking requiredSize.
const align = (value: number, to: number) => Math.ceil(value / to) * to;
const nextPowerOfTwo = (value: number) => 2 ** Math.ceil(Math.log2(value));
function ringBytes(capacity: number, maxPayloadBytes: number): number {
  const maxMessage = 40 + Math.max(maxPayloadBytes, 1024); // frame + payload; room for an error reply
  const largestRecord = align(8 + maxMessage, 8);
  return 384 + nextPowerOfTwo(Math.max(64, 2 * largestRecord, capacity * 64));
}
function modelSize(options: ResolvedLayoutOptions): number {
  const workers = options.normalWorkers + options.vipWorkers;
  const slots = options.maxClients + 1 + Math.min(options.maxClients, 4); // spare slots for draining clients
  const workerRecord = 256 + 64 * options.concurrency;
  const slotRecord = 128 + align(8 * workers, 64);
  const ringsOffset = align(512 + workers * workerRecord + slots * slotRecord, 4096);
  const stride =
    2 * options.normalWorkers * ringBytes(options.normalQueueCapacity, options.maxPayloadBytes) +
    2 * options.vipWorkers * ringBytes(options.vipQueueCapacity, options.maxPayloadBytes);
  return ringsOffset + slots * stride;
}

describe('DEFAULT_LAYOUT_OPTIONS', () => {
  it('are 4 normal + 2 VIP workers, 1024/256 queue capacities, 32 KiB payloads and 16 clients', () => {
    expect(DEFAULT_LAYOUT_OPTIONS).toEqual({
      normalWorkers: 4,
      vipWorkers: 2,
      normalQueueCapacity: 1024,
      vipQueueCapacity: 256,
      maxPayloadBytes: 32 * 1024,
      maxClients: 16,
      concurrency: 1,
      hangTimeoutMs: 30_000,
      waitStrategy: 'adaptive',
    });
  });

  it('are what resolveLayoutOptions() fills in for an empty object', () => {
    expect(resolveLayoutOptions()).toEqual(DEFAULT_LAYOUT_OPTIONS);
    expect(resolveLayoutOptions({})).toEqual(DEFAULT_LAYOUT_OPTIONS);
  });

  it('fill only the options that are missing or undefined', () => {
    expect(resolveLayoutOptions({ vipWorkers: 0, maxClients: undefined })).toEqual({
      ...DEFAULT_LAYOUT_OPTIONS,
      vipWorkers: 0,
    });
  });
});

describe('PhoenixShmLayout.requiredSize', () => {
  it('is 33,135,104 bytes (31.6 MiB) for the defaults: under 32 MiB, half a stock container /dev/shm', () => {
    // 8192 (header, 6 worker records of 320 B, 21 slot records of 192 B, page
    // aligned) + 21 slots (1 + 16 clients + 4 spares) x 6 workers x 2 rings x (384 + 128 KiB).
    expect(PhoenixShmLayout.requiredSize()).toBe(33_135_104);
    expect(PhoenixShmLayout.requiredSize()).toBe(8192 + 21 * 6 * 2 * (384 + 131_072));
    expect(PhoenixShmLayout.requiredSize()).toBeLessThanOrEqual(32 * 1024 * 1024);
  });

  it('is 13,056 bytes for the smallest configuration', () => {
    // 1 normal worker, no VIP, 1 slot: 4096 + 2 rings x (384 + 4096: room for two 1 KiB error replies).
    const options = { normalWorkers: 1, vipWorkers: 0, normalQueueCapacity: 1, maxPayloadBytes: 0, maxClients: 0 };
    expect(PhoenixShmLayout.requiredSize(options)).toBe(4096 + 2 * (384 + 4096));
  });

  it.each<[string, LayoutOptions]>([
    ['defaults', {}],
    ['one worker', { normalWorkers: 1, vipWorkers: 0 }],
    ['many clients', { maxClients: 100, maxPayloadBytes: 1024 }],
    ['big queues, small payloads', { normalQueueCapacity: 65_536, vipQueueCapacity: 4096, maxPayloadBytes: 16 }],
    ['big payloads', { maxPayloadBytes: 1 << 20, maxClients: 2 }],
    ['concurrency 8', { concurrency: 8, normalWorkers: 3, vipWorkers: 1 }],
    ['64 + 64 workers', { normalWorkers: 64, vipWorkers: 64, maxClients: 1, maxPayloadBytes: 0 }],
  ])('matches the byte map for %s', (_name, options) => {
    expect(PhoenixShmLayout.requiredSize(options)).toBe(modelSize(resolveLayoutOptions(options)));
  });

  it('matches the byte map for random valid configurations', () => {
    const options = fc.record({
      normalWorkers: fc.integer({ min: 1, max: 64 }),
      vipWorkers: fc.integer({ min: 0, max: 64 }),
      normalQueueCapacity: fc.integer({ min: 0, max: 16 }).map((n) => 2 ** n),
      vipQueueCapacity: fc.integer({ min: 0, max: 16 }).map((n) => 2 ** n),
      maxPayloadBytes: fc.integer({ min: 0, max: 1 << 20 }),
      maxClients: fc.integer({ min: 0, max: 64 }),
      concurrency: fc.integer({ min: 1, max: 256 }),
    });
    fc.assert(
      fc.property(options, (o) => {
        const model = modelSize({ ...DEFAULT_LAYOUT_OPTIONS, ...o });
        if (model > LAYOUT_LIMITS.maxSegmentBytes) {
          expectPhoenixError(() => PhoenixShmLayout.requiredSize(o), 'ERR_PHOENIX_INVALID_ARGUMENT', /segment/);
        } else {
          expect(PhoenixShmLayout.requiredSize(o)).toBe(model);
        }
      }),
      { numRuns: 300, seed: 20_261_125 },
    );
  });

  it('grows with every size-bearing option', () => {
    const base = PhoenixShmLayout.requiredSize({ maxClients: 2 });
    for (const change of [
      { normalWorkers: 5 },
      { vipWorkers: 3 },
      { normalQueueCapacity: 8192 },
      { vipQueueCapacity: 8192 },
      { maxPayloadBytes: 128 * 1024 },
      { maxClients: 3 },
      { concurrency: 64 },
    ]) {
      expect(PhoenixShmLayout.requiredSize({ maxClients: 2, ...change }), JSON.stringify(change)).toBeGreaterThan(base);
    }
  });

  it('does not depend on hangTimeoutMs or waitStrategy', () => {
    const base = PhoenixShmLayout.requiredSize();
    expect(PhoenixShmLayout.requiredSize({ hangTimeoutMs: 5, waitStrategy: 'block' })).toBe(base);
  });

  it('agrees with computeGeometry().totalBytes', () => {
    const options = { normalWorkers: 3, vipWorkers: 1, maxClients: 5 };
    expect(PhoenixShmLayout.requiredSize(options)).toBe(computeGeometry(resolveLayoutOptions(options)).totalBytes);
  });
});

describe('resolveLayoutOptions validation', () => {
  it.each<[keyof LayoutOptions, unknown, RegExp]>([
    ['normalWorkers', 0, /option normalWorkers must be an integer from 1 to 64, got 0/],
    ['normalWorkers', 65, /option normalWorkers .* got 65/],
    ['normalWorkers', 1.5, /option normalWorkers .* got 1\.5/],
    ['normalWorkers', '2', /option normalWorkers .* got "2"/],
    ['vipWorkers', -1, /option vipWorkers must be an integer from 0 to 64, got -1/],
    ['normalQueueCapacity', 1000, /option normalQueueCapacity must be a power of two from 1 to 1048576, got 1000/],
    ['normalQueueCapacity', 0, /option normalQueueCapacity .* got 0/],
    ['normalQueueCapacity', 2 ** 21, /option normalQueueCapacity .* got 2097152/],
    ['vipQueueCapacity', 3, /option vipQueueCapacity must be a power of two .* got 3/],
    ['maxPayloadBytes', -1, /option maxPayloadBytes must be an integer from 0 to 67108864, got -1/],
    ['maxPayloadBytes', 64 * 1024 * 1024 + 1, /option maxPayloadBytes .* got 67108865/],
    ['maxClients', -1, /option maxClients .* got -1/],
    ['maxClients', 1025, /option maxClients .* got 1025/],
    ['concurrency', 0, /option concurrency must be an integer from 1 to 256, got 0/],
    ['hangTimeoutMs', 0, /option hangTimeoutMs .* got 0/],
    ['waitStrategy', 'fast', /option waitStrategy must be 'adaptive', 'spin' or 'block', got "fast"/],
    ['waitStrategy', 'toString', /option waitStrategy .* got "toString"/],
    ['waitStrategy', 1, /option waitStrategy .* got 1/],
  ])('rejects %s = %o with ERR_PHOENIX_INVALID_ARGUMENT naming the option and value', (name, value, pattern) => {
    expectPhoenixError(
      () => resolveLayoutOptions({ [name]: value } as LayoutOptions),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      pattern,
    );
  });

  it.each<[keyof LayoutOptions, unknown, RegExp]>([
    ['maxPayloadBytes', Number.NaN, /option maxPayloadBytes .* got NaN/],
    ['concurrency', Number.POSITIVE_INFINITY, /option concurrency .* got Infinity/],
    ['normalWorkers', 2n, /option normalWorkers .* got 2n/],
  ])('shows the value %s = %s as written, not as its JSON', (name, value, pattern) => {
    expectPhoenixError(
      () => resolveLayoutOptions({ [name]: value } as LayoutOptions),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      pattern,
    );
  });

  it('rejects a configuration that needs more than 2 GiB, saying how much it needs', () => {
    const options = { maxPayloadBytes: 64 * 1024 * 1024, normalWorkers: 64, maxClients: 1024 };
    expectPhoenixError(
      () => resolveLayoutOptions(options),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /need a \d+-byte segment, more than the 2147479552 supported/,
    );
    expectPhoenixError(() => PhoenixShmLayout.requiredSize(options), 'ERR_PHOENIX_INVALID_ARGUMENT', /2147479552/);
  });

  it('rejects a configuration just over the limit and accepts one just under', () => {
    // 16 normal + 0 VIP workers, 16 MiB rings: size grows by 16 x 2 x (16 MiB + 384) a client.
    const base = { normalWorkers: 16, vipWorkers: 0, normalQueueCapacity: 1 << 18, maxPayloadBytes: 0 };
    let clients = 0;
    while (
      modelSize({ ...DEFAULT_LAYOUT_OPTIONS, ...base, maxClients: clients + 1 }) <= LAYOUT_LIMITS.maxSegmentBytes
    ) {
      clients++;
    }
    expect(PhoenixShmLayout.requiredSize({ ...base, maxClients: clients })).toBeLessThanOrEqual(2 ** 31);
    expectPhoenixError(
      () => PhoenixShmLayout.requiredSize({ ...base, maxClients: clients + 1 }),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /segment/,
    );
  });

  it('rejects options that are not an object', () => {
    expectPhoenixError(
      () => resolveLayoutOptions(null as unknown as LayoutOptions),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /options must be an object/,
    );
  });

  it('rejects invalid options in format() before touching the buffer', () => {
    const buffer = new SharedArrayBuffer(64 * 1024);
    new Uint8Array(buffer).fill(0x5a);
    expectPhoenixError(
      () => PhoenixShmLayout.format(buffer, { concurrency: 0 }),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /concurrency/,
    );
    expect(new Uint8Array(buffer).every((b) => b === 0x5a)).toBe(true);
  });
});
