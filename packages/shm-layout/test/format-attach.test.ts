// Over 400 lines on purpose: format and attach are one contract (what format writes, attach must accept, and
// every damaged or foreign header it must refuse), read best side by side.
import { Worker } from 'node:worker_threads';
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LAYOUT_OPTIONS,
  type LayoutOptions,
  PhoenixShmLayout,
  SEGMENT_MAGIC,
  SEGMENT_VERSION,
  SegmentDescriptor,
  SlotState,
  SpscRingBuffer,
  SupervisorState,
  WorkerState,
} from '../src/index.js';
import { fixChecksum, headerWords, makeLayout, SMALL, setHeaderWord } from './helpers.js';

/** Formats a segment over and over (runs the built package, dist/: build first, as seq-id.test.ts does). */
const FORMAT_LOOP = new URL('./fixtures/format-loop-thread.mjs', import.meta.url);

const S = SegmentDescriptor;

/** Every option set away from its default. */
const ALL_OPTIONS = {
  normalWorkers: 3,
  vipWorkers: 1,
  normalQueueCapacity: 32,
  vipQueueCapacity: 4,
  maxPayloadBytes: 3000,
  maxClients: 2,
  concurrency: 3,
  hangTimeoutMs: 1234,
  waitStrategy: 'spin',
} as const satisfies Required<LayoutOptions>;

describe('PhoenixShmLayout.format', () => {
  it('produces a segment that attach() accepts', () => {
    const { buffer } = makeLayout();
    expect(() => PhoenixShmLayout.attach(buffer)).not.toThrow();
  });

  it('records every option, and attach() reads them back into layout.options', () => {
    const { buffer, layout } = makeLayout(ALL_OPTIONS);
    expect(layout.options).toEqual(ALL_OPTIONS);
    expect(PhoenixShmLayout.attach(buffer).options).toEqual(ALL_OPTIONS);
  });

  it.each(['adaptive', 'spin', 'block'] as const)('records wait strategy %s', (waitStrategy) => {
    const { buffer } = makeLayout({ ...SMALL, waitStrategy });
    expect(PhoenixShmLayout.attach(buffer).options.waitStrategy).toBe(waitStrategy);
  });

  it('records the defaults when given no options', () => {
    const buffer = new SharedArrayBuffer(PhoenixShmLayout.requiredSize());
    PhoenixShmLayout.format(buffer);
    expect(PhoenixShmLayout.attach(buffer).options).toEqual(DEFAULT_LAYOUT_OPTIONS);
  });

  it('round-trips random configurations through the header', () => {
    const options = fc.record({
      normalWorkers: fc.integer({ min: 1, max: 4 }),
      vipWorkers: fc.integer({ min: 0, max: 3 }),
      normalQueueCapacity: fc.integer({ min: 0, max: 6 }).map((n) => 2 ** n),
      vipQueueCapacity: fc.integer({ min: 0, max: 6 }).map((n) => 2 ** n),
      maxPayloadBytes: fc.integer({ min: 0, max: 4096 }),
      maxClients: fc.integer({ min: 0, max: 3 }),
      concurrency: fc.integer({ min: 1, max: 4 }),
      hangTimeoutMs: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      waitStrategy: fc.constantFrom('adaptive', 'spin', 'block'),
    });
    fc.assert(
      fc.property(options, (o) => {
        const { buffer } = makeLayout(o);
        expect(PhoenixShmLayout.attach(buffer).options).toEqual(o);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it('records the identity fields, and attach() reads them back', () => {
    const identity = { epoch: 42, supervisorPid: 31_337, supervisorStartTime: 123_456.789, controlNonce: 0xdeadbeef };
    const { buffer, layout } = makeLayout(SMALL, identity);
    const attached = PhoenixShmLayout.attach(buffer);
    for (const l of [layout, attached]) {
      expect(l.epoch).toBe(42);
      expect(l.supervisorPid).toBe(31_337);
      expect(l.supervisorStartTime).toBe(123_456.789);
      expect(l.controlNonce).toBe(0xdeadbeef);
    }
  });

  it('defaults the identity to epoch 1, pid 0, start time 0 and nonce 0', () => {
    const { layout } = makeLayout();
    expect([layout.epoch, layout.supervisorPid, layout.supervisorStartTime, layout.controlNonce]).toEqual([1, 0, 0, 0]);
  });

  it('writes magic "PHNX", version 1 and the 512-byte header size', () => {
    const { buffer } = makeLayout();
    const words = headerWords(buffer);
    expect(new TextDecoder().decode(new Uint8Array(buffer, 0, 4))).toBe('XNHP'); // 0x50484E58 little-endian
    expect(words[S.MAGIC_OFFSET >> 2]).toBe(SEGMENT_MAGIC);
    expect(words[S.VERSION_OFFSET >> 2]).toBe(SEGMENT_VERSION);
    expect(words[S.HEADER_BYTES_OFFSET >> 2]).toBe(512);
    expect(words[S.TOTAL_BYTES_OFFSET >> 2]).toBe(PhoenixShmLayout.requiredSize(SMALL));
  });

  it('records the geometry it computed in the header', () => {
    const { buffer, layout } = makeLayout(ALL_OPTIONS);
    const words = headerWords(buffer);
    const g = layout.geometry;
    expect(words[S.WORKERS_OFFSET_OFFSET >> 2]).toBe(g.workersOffset);
    expect(words[S.SLOTS_OFFSET_OFFSET >> 2]).toBe(g.slotsOffset);
    expect(words[S.RINGS_OFFSET_OFFSET >> 2]).toBe(g.ringsOffset);
    expect(words[S.SLOT_STRIDE_OFFSET >> 2]).toBe(g.slotStride);
    expect(words[S.WORKER_RECORD_BYTES_OFFSET >> 2]).toBe(g.workerRecordBytes);
    expect(words[S.SLOT_RECORD_BYTES_OFFSET >> 2]).toBe(g.slotRecordBytes);
    expect(words[S.NORMAL_PAIR_BYTES_OFFSET >> 2]).toBe(g.normalPairBytes);
    expect(words[S.VIP_PAIR_BYTES_OFFSET >> 2]).toBe(g.vipPairBytes);
    expect(g.ringsOffset % 4096).toBe(0);
  });

  it('starts with the supervisor STARTING, every worker EMPTY and every slot FREE', () => {
    const { layout } = makeLayout();
    expect(layout.supervisorState).toBe(SupervisorState.Starting);
    expect(layout.channels.every((c) => c.state === WorkerState.Empty && c.pending === 0)).toBe(true);
    expect(layout.slots.every((s) => s.state === SlotState.Free)).toBe(true);
  });

  it('formats every ring empty', () => {
    const { layout } = makeLayout();
    for (const channel of layout.channels) {
      for (let s = 0; s < layout.slots.length; s++) {
        expect(channel.requestRing(s).empty()).toBe(true);
        expect(channel.responseRing(s).empty()).toBe(true);
      }
    }
  });

  it('wipes garbage that was in the buffer before', () => {
    const buffer = new SharedArrayBuffer(PhoenixShmLayout.requiredSize(SMALL));
    new Uint8Array(buffer).fill(0xee);
    PhoenixShmLayout.format(buffer, SMALL);
    const attached = PhoenixShmLayout.attach(buffer);
    expect(attached.channels.every((c) => c.state === WorkerState.Empty && !c.monitor.isProcessing())).toBe(true);
    expect(attached.slots.every((s) => s.state === SlotState.Free && s.outstanding(0) === 0)).toBe(true);
    expect(attached.heartbeat).toEqual({ count: 0, at: 0 });
  });

  it('reformats a segment with a new configuration', () => {
    const buffer = new SharedArrayBuffer(PhoenixShmLayout.requiredSize(DEFAULT_LAYOUT_OPTIONS));
    PhoenixShmLayout.format(buffer);
    PhoenixShmLayout.format(buffer, ALL_OPTIONS, { epoch: 2 });
    const attached = PhoenixShmLayout.attach(buffer);
    expect(attached.options).toEqual(ALL_OPTIONS);
    expect(attached.epoch).toBe(2);
  });

  it('works over a plain ArrayBuffer', () => {
    const buffer = new ArrayBuffer(PhoenixShmLayout.requiredSize(SMALL));
    PhoenixShmLayout.format(buffer, SMALL);
    expect(PhoenixShmLayout.attach(buffer).options).toEqual({ ...DEFAULT_LAYOUT_OPTIONS, ...SMALL });
  });

  it('accepts a buffer larger than needed', () => {
    const buffer = new SharedArrayBuffer(PhoenixShmLayout.requiredSize(SMALL) + 12_345);
    PhoenixShmLayout.format(buffer, SMALL);
    expect(PhoenixShmLayout.attach(buffer).geometry.totalBytes).toBe(PhoenixShmLayout.requiredSize(SMALL));
  });

  it('rejects a buffer smaller than the options need with ERR_PHOENIX_INVALID_ARGUMENT', () => {
    const size = PhoenixShmLayout.requiredSize(SMALL);
    expectPhoenixError(
      () => PhoenixShmLayout.format(new SharedArrayBuffer(size - 8), SMALL),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      new RegExp(`${size - 8} bytes is smaller than the ${size}`),
    );
  });

  it('rejects something that is not an ArrayBuffer with ERR_PHOENIX_INVALID_ARGUMENT', () => {
    const bytes = new Uint8Array(PhoenixShmLayout.requiredSize(SMALL));
    expectPhoenixError(
      () => PhoenixShmLayout.format(bytes as unknown as ArrayBuffer, SMALL),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /ArrayBuffer or SharedArrayBuffer/,
    );
  });
});

describe('PhoenixShmLayout header state', () => {
  it('shares the supervisor state, heartbeat and epochs between attached instances', () => {
    const { buffer, layout } = makeLayout();
    const other = PhoenixShmLayout.attach(buffer);
    layout.supervisorState = SupervisorState.Running;
    layout.beat(1000.5);
    layout.beat(2000.25);
    layout.bumpSlotEpoch();
    layout.bumpWorkerEpoch();
    layout.bumpWorkerEpoch();
    expect(other.supervisorState).toBe(SupervisorState.Running);
    expect(other.heartbeat).toEqual({ count: 2, at: 2000.25 });
    expect(other.slotEpoch).toBe(1);
    expect(other.workerEpoch).toBe(2);
  });

  it('keeps attach() working while the supervisor writes its line (it is not checksummed)', () => {
    const { buffer, layout } = makeLayout();
    layout.supervisorState = SupervisorState.Stopping;
    layout.beat();
    expect(PhoenixShmLayout.attach(buffer).options).toEqual(layout.options);
  });
});

describe('PhoenixShmLayout.repairHeader', () => {
  const identity = { epoch: 3, supervisorPid: 4242, controlNonce: 99 };

  it('finds nothing to repair in an intact header, however often it looks', () => {
    const { layout } = makeLayout(SMALL, identity);
    expect(layout.repairHeader(identity)).toBe(false);
    expect(layout.repairHeader(identity)).toBe(false);
  });

  it('puts back any static word a broken peer overwrote, each time it happens', () => {
    const { buffer, layout } = makeLayout(SMALL, identity);
    const pristine = headerWords(buffer).slice();
    expect(layout.repairHeader(identity)).toBe(false);
    for (const offset of [S.MAGIC_OFFSET, S.NORMAL_WORKERS_OFFSET, S.SUPERVISOR_PID_OFFSET, S.HEADER_CHECKSUM_OFFSET]) {
      setHeaderWord(buffer, offset, 0x7eadbeef);
      expect(layout.repairHeader(identity)).toBe(true);
      expect(headerWords(buffer)).toEqual(pristine);
      expect(PhoenixShmLayout.attach(buffer).options).toEqual(layout.options);
    }
  });
});

describe('PhoenixShmLayout.probe', () => {
  it('says ready for a formatted segment', () => {
    const { buffer } = makeLayout();
    expect(PhoenixShmLayout.probe(buffer)).toEqual({ kind: 'ready' });
  });

  it('says not-ready for an empty buffer', () => {
    expect(PhoenixShmLayout.probe(new SharedArrayBuffer(0))).toEqual({
      kind: 'not-ready',
      reason: expect.stringMatching(/empty/),
    });
  });

  it('says not-ready for an all-zero header', () => {
    expect(PhoenixShmLayout.probe(new SharedArrayBuffer(65_536))).toEqual({
      kind: 'not-ready',
      reason: expect.stringMatching(/still zero/),
    });
  });

  it('says not-ready for the magic with version 0 (still being formatted)', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.VERSION_OFFSET, 0);
    expect(PhoenixShmLayout.probe(buffer)).toEqual({ kind: 'not-ready', reason: expect.stringMatching(/version 0/) });
  });

  it('says foreign for a wrong magic, naming it', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.MAGIC_OFFSET, 0x12345678);
    expect(PhoenixShmLayout.probe(buffer)).toEqual({
      kind: 'foreign',
      reason: expect.stringMatching(/magic 0x12345678, expected 0x50484e58/),
    });
  });

  it('says foreign for a zero magic over a non-zero header', () => {
    const buffer = new SharedArrayBuffer(4096);
    new Int32Array(buffer)[40] = 1;
    expect(PhoenixShmLayout.probe(buffer)).toEqual({ kind: 'foreign', reason: expect.stringMatching(/magic 0x0/) });
  });

  it('never says foreign while a creator formats a fresh segment: it is not ready yet, or ready', async () => {
    // A reader that loaded a zero magic just before the creator stored it, and the words after, sees a header
    // written but for its magic. The probe looks at the magic again before it calls such a header foreign.
    const options = { normalWorkers: 1, vipWorkers: 0, maxClients: 1, maxPayloadBytes: 256 };
    const segments = Array.from({ length: 300 }, () => new SharedArrayBuffer(PhoenixShmLayout.requiredSize(options)));
    const control = new SharedArrayBuffer(4);
    const watched = new Int32Array(control);
    const creator = new Worker(FORMAT_LOOP, { workerData: { segments, control, options } });
    try {
      const foreign: string[] = [];
      for (let i = 0; i < segments.length; i++) {
        Atomics.store(watched, 0, i + 1);
        Atomics.notify(watched, 0);
        for (;;) {
          const probe = PhoenixShmLayout.probe(segments[i]!);
          if (probe.kind === 'ready') break;
          if (probe.kind === 'foreign') foreign.push(probe.reason);
        }
      }
      expect(foreign).toEqual([]);
    } finally {
      await creator.terminate();
    }
  });

  it('says foreign for version 2, "version 2, expected 1"', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.VERSION_OFFSET, 2);
    expect(PhoenixShmLayout.probe(buffer)).toEqual({ kind: 'foreign', reason: 'version 2, expected 1' });
  });

  it('says foreign for a checksum mismatch', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.EPOCH_OFFSET, 99);
    expect(PhoenixShmLayout.probe(buffer)).toEqual({
      kind: 'foreign',
      reason: expect.stringMatching(/header checksum 0x[0-9a-f]+, computed 0x[0-9a-f]+/),
    });
  });

  it('says foreign for a buffer smaller than the header says', () => {
    const { buffer } = makeLayout();
    const cut = new SharedArrayBuffer(buffer.byteLength - 4096);
    new Uint8Array(cut).set(new Uint8Array(buffer, 0, cut.byteLength));
    expect(PhoenixShmLayout.probe(cut)).toEqual({
      kind: 'foreign',
      reason: `the header describes ${buffer.byteLength} bytes but the mapping has ${cut.byteLength}`,
    });
  });

  it('says foreign for a non-empty buffer smaller than a header', () => {
    expect(PhoenixShmLayout.probe(new SharedArrayBuffer(100))).toEqual({
      kind: 'foreign',
      reason: expect.stringMatching(/100 bytes, smaller than a PhoenixIPC header/),
    });
  });

  it('never throws or changes the buffer', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.TOTAL_BYTES_OFFSET, -1, true);
    const before = Buffer.from(new Uint8Array(buffer).slice());
    expect(PhoenixShmLayout.probe(buffer).kind).toBe('foreign');
    expect(before.equals(new Uint8Array(buffer))).toBe(true);
  });
});

describe('PhoenixShmLayout.attach rejects', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a plain object', {}],
    ['a Uint8Array (not its buffer)', new Uint8Array(64)],
  ])('%s, which is no buffer, with ERR_PHOENIX_INVALID_ARGUMENT', (_what, value) => {
    expectPhoenixError(() => PhoenixShmLayout.attach(value as never), 'ERR_PHOENIX_INVALID_ARGUMENT', /ArrayBuffer/);
  });

  it('an empty buffer with ERR_PHOENIX_BAD_SEGMENT', () => {
    expectPhoenixError(() => PhoenixShmLayout.attach(new SharedArrayBuffer(0)), 'ERR_PHOENIX_BAD_SEGMENT', /empty/);
  });

  it('an all-zero header with ERR_PHOENIX_BAD_SEGMENT', () => {
    expectPhoenixError(
      () => PhoenixShmLayout.attach(new SharedArrayBuffer(8192)),
      'ERR_PHOENIX_BAD_SEGMENT',
      /not formatted yet/,
    );
  });

  it('a segment still being formatted (version 0) with ERR_PHOENIX_BAD_SEGMENT', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.VERSION_OFFSET, 0);
    expectPhoenixError(() => PhoenixShmLayout.attach(buffer), 'ERR_PHOENIX_BAD_SEGMENT', /version 0/);
  });

  it('a wrong magic with ERR_PHOENIX_BAD_SEGMENT naming it', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.MAGIC_OFFSET, 0x31474e52);
    expectPhoenixError(() => PhoenixShmLayout.attach(buffer), 'ERR_PHOENIX_BAD_SEGMENT', /magic 0x31474e52/);
  });

  it('version 2 with ERR_PHOENIX_BAD_SEGMENT "version 2, expected 1"', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.VERSION_OFFSET, 2);
    expectPhoenixError(() => PhoenixShmLayout.attach(buffer), 'ERR_PHOENIX_BAD_SEGMENT', /^version 2, expected 1$/);
  });

  it('a checksum mismatch with ERR_PHOENIX_BAD_SEGMENT', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.NORMAL_WORKERS_OFFSET, 3);
    expectPhoenixError(() => PhoenixShmLayout.attach(buffer), 'ERR_PHOENIX_BAD_SEGMENT', /header checksum/);
  });

  it('a buffer smaller than the header says with ERR_PHOENIX_BAD_SEGMENT', () => {
    const { buffer } = makeLayout();
    const cut = new SharedArrayBuffer(buffer.byteLength - 8);
    new Uint8Array(cut).set(new Uint8Array(buffer, 0, cut.byteLength));
    expectPhoenixError(
      () => PhoenixShmLayout.attach(cut),
      'ERR_PHOENIX_BAD_SEGMENT',
      new RegExp(`describes ${buffer.byteLength} bytes but the mapping has ${cut.byteLength}`),
    );
  });

  it('a non-empty buffer smaller than a header with ERR_PHOENIX_BAD_SEGMENT', () => {
    expectPhoenixError(() => PhoenixShmLayout.attach(new ArrayBuffer(511)), 'ERR_PHOENIX_BAD_SEGMENT', /511 bytes/);
  });

  it('a wrong header size (checksum intact) with ERR_PHOENIX_BAD_SEGMENT', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.HEADER_BYTES_OFFSET, 1024, true);
    expectPhoenixError(
      () => PhoenixShmLayout.attach(buffer),
      'ERR_PHOENIX_BAD_SEGMENT',
      /header size 1024, expected 512/,
    );
  });

  it('an unknown wait strategy code (checksum intact) with ERR_PHOENIX_BAD_SEGMENT', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.WAIT_STRATEGY_OFFSET, 7, true);
    expectPhoenixError(() => PhoenixShmLayout.attach(buffer), 'ERR_PHOENIX_BAD_SEGMENT', /wait strategy code 7/);
  });

  it('an invalid recorded option (checksum intact) with ERR_PHOENIX_BAD_SEGMENT naming it', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.NORMAL_QUEUE_CAPACITY_OFFSET, 1000, true);
    expectPhoenixError(
      () => PhoenixShmLayout.attach(buffer),
      'ERR_PHOENIX_BAD_SEGMENT',
      /recorded configuration is invalid: option normalQueueCapacity .* got 1000/,
    );
  });

  it.each<[string, number]>([
    ['total size', S.TOTAL_BYTES_OFFSET],
    ['normal ring data size', S.NORMAL_RING_DATA_BYTES_OFFSET],
    ['VIP ring data size', S.VIP_RING_DATA_BYTES_OFFSET],
    ['worker record size', S.WORKER_RECORD_BYTES_OFFSET],
    ['slot record size', S.SLOT_RECORD_BYTES_OFFSET],
    ['workers offset', S.WORKERS_OFFSET_OFFSET],
    ['slots offset', S.SLOTS_OFFSET_OFFSET],
    ['rings offset', S.RINGS_OFFSET_OFFSET],
    ['slot stride', S.SLOT_STRIDE_OFFSET],
    ['normal ring pair size', S.NORMAL_PAIR_BYTES_OFFSET],
    ['VIP ring pair size', S.VIP_PAIR_BYTES_OFFSET],
  ])('a recorded %s that disagrees with the configuration (checksum intact)', (name, offset) => {
    const { buffer } = makeLayout();
    const words = headerWords(buffer);
    const right = words[offset >> 2]!;
    setHeaderWord(buffer, offset, right + 64, true);
    expectPhoenixError(
      () => PhoenixShmLayout.attach(buffer),
      'ERR_PHOENIX_BAD_SEGMENT',
      new RegExp(`${name} is ${right + 64}, expected ${right}`),
    );
  });

  it('a recorded configuration of another size (checksum intact) as corrupt', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.MAX_CLIENTS_OFFSET, 2, true);
    expectPhoenixError(() => PhoenixShmLayout.attach(buffer), 'ERR_PHOENIX_BAD_SEGMENT', /total size/);
  });

  it('a worker record that names another worker', () => {
    const { buffer, layout } = makeLayout();
    const record = layout.geometry.workersOffset + layout.geometry.workerRecordBytes; // normal worker 1
    new Int32Array(buffer)[(record + S.WORKER_INDEX_OFFSET) >> 2] = 0;
    expectPhoenixError(
      () => PhoenixShmLayout.attach(buffer),
      'ERR_PHOENIX_BAD_SEGMENT',
      /worker record 1 names group 0 index 0/,
    );
  });

  it('a corrupt monitor record as corrupt segment structures', () => {
    const { buffer, layout } = makeLayout();
    new Int32Array(buffer)[(layout.getVipChannel(1).monitorOffset(0) + 56) >> 2] = 0; // its magic
    expectPhoenixError(
      () => PhoenixShmLayout.attach(buffer),
      'ERR_PHOENIX_BAD_SEGMENT',
      /segment structures are corrupt: bad monitor magic/,
    );
  });

  it('a monitor left with a garbage state as corrupt segment structures', () => {
    const { buffer, layout } = makeLayout();
    new Int32Array(buffer)[layout.getNormalChannel(0).monitorOffset(0) >> 2] = 9;
    expectPhoenixError(() => PhoenixShmLayout.attach(buffer), 'ERR_PHOENIX_BAD_SEGMENT', /monitor state 9/);
  });

  it('but does not read the rings until they are used', () => {
    const { buffer, layout } = makeLayout();
    const ringOffset = layout.getNormalChannel(0).requestRingOffset(1);
    new Int32Array(buffer)[ringOffset >> 2] = 0; // the ring's magic
    const attached = PhoenixShmLayout.attach(buffer);
    expectPhoenixError(() => attached.getNormalChannel(0).requestRing(1), 'ERR_PHOENIX_BAD_RING', /magic/);
    expect(() => attached.getNormalChannel(0).requestRing(2)).not.toThrow();
    expect(SpscRingBuffer.attach(buffer, layout.getNormalChannel(1).requestRingOffset(1)).empty()).toBe(true);
  });
});

describe('header checksum', () => {
  it('covers the identity words', () => {
    const { buffer } = makeLayout(SMALL, { controlNonce: 5 });
    setHeaderWord(buffer, S.CONTROL_NONCE_OFFSET, 6);
    expect(PhoenixShmLayout.probe(buffer).kind).toBe('foreign');
    fixChecksum(buffer);
    expect(PhoenixShmLayout.attach(buffer).controlNonce).toBe(6);
  });

  it('does not cover VERSION (written last, after the checksum)', () => {
    const { buffer } = makeLayout();
    setHeaderWord(buffer, S.VERSION_OFFSET, 0);
    fixChecksum(buffer);
    const checksum = headerWords(buffer)[S.HEADER_CHECKSUM_OFFSET >> 2];
    setHeaderWord(buffer, S.VERSION_OFFSET, SEGMENT_VERSION);
    fixChecksum(buffer);
    expect(headerWords(buffer)[S.HEADER_CHECKSUM_OFFSET >> 2]).toBe(checksum);
  });
});
