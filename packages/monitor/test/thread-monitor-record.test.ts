// The monitor record itself: its descriptor, format, attach (every check of memory that crosses a process
// boundary), intact, and the arguments a record could not keep.
import { expectPhoenixError, mulberry32Words } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { GROUP_NORMAL, GROUP_VIP, MONITOR_BYTES, MONITOR_STATE_IDLE, ThreadMonitor } from '../src/index.js';
import { setWordAt, wordAt } from './helpers.js';
import { D, fresh, IDLE_SNAPSHOT } from './thread-monitor-kit.js';

describe('MonitorDescriptor', () => {
  it('describes a 64-byte, 64-aligned record (one cache line)', () => {
    expect(MONITOR_BYTES).toBe(64);
    expect(ThreadMonitor.BYTES).toBe(64);
    expect(D.MONITOR_ALIGNMENT).toBe(64);
  });

  it('places every field at its documented offset without overlap', () => {
    const fields: [number, number][] = [
      [D.STATE_OFFSET, 4],
      [D.TRANSACTION_OFFSET, 4],
      [D.GROUP_ID_OFFSET, 4],
      [D.WORKER_INDEX_OFFSET, 4],
      [D.SEQ_ID_LOW_OFFSET, 4],
      [D.SEQ_ID_HIGH_OFFSET, 4],
      [D.START_TIMESTAMP_OFFSET, 8],
      [D.SLOT_OFFSET, 4],
      [D.RING_POSITION_OFFSET, 4],
      [D.FUNC_ID_OFFSET, 4],
      [D.ATTEMPT_OFFSET, 4],
      [D.PROCESSED_OFFSET, 4],
      [D.FAILED_OFFSET, 4],
      [D.MAGIC_OFFSET, 4],
      [D.REPLY_MARK_OFFSET, 4],
    ];
    expect(fields.map(([offset]) => offset)).toEqual([0, 4, 8, 12, 16, 20, 24, 32, 36, 40, 44, 48, 52, 56, 60]);
    for (let i = 1; i < fields.length; i++) {
      const [previous, size] = fields[i - 1]!;
      expect(fields[i]![0]).toBeGreaterThanOrEqual(previous + size);
    }
    expect(D.START_TIMESTAMP_OFFSET % 8).toBe(0);
    expect(D.MONITOR_END_OFFSET).toBe(MONITOR_BYTES);
  });

  it('spells the magic "MON1" in memory order', () => {
    const { buffer } = fresh();
    expect(new TextDecoder().decode(new Uint8Array(buffer, D.MAGIC_OFFSET, 4))).toBe('MON1');
  });
});

describe('ThreadMonitor.format', () => {
  it('gives an IDLE record with zero counters and no slot', () => {
    const { monitor } = fresh();
    expect(monitor.isProcessing()).toBe(false);
    expect(monitor.getProcessingSeq()).toBe(0);
    expect(monitor.getTransaction()).toBe(0);
    expect(monitor.getProcessed()).toBe(0);
    expect(monitor.getFailed()).toBe(0);
    expect(monitor.getSlot()).toBe(-1);
    expect(monitor.getStartTimestamp()).toBe(0);
    expect(monitor.snapshot()).toEqual(IDLE_SNAPSHOT);
  });

  it('records the group id and worker index it is given', () => {
    const buffer = new SharedArrayBuffer(64);
    const monitor = ThreadMonitor.format(buffer, 0, GROUP_VIP, 5);
    expect(monitor.getGroupId()).toBe(GROUP_VIP);
    expect(monitor.getWorkerIndex()).toBe(5);
    expect(monitor.snapshot()).toEqual({ ...IDLE_SNAPSHOT, groupId: 1, workerIndex: 5 });
  });

  it('wipes whatever the memory held before', () => {
    const buffer = new SharedArrayBuffer(64);
    new Uint8Array(buffer).fill(0xa5);
    const monitor = ThreadMonitor.format(buffer, 0);
    expect(monitor.snapshot()).toEqual(IDLE_SNAPSHOT);
    expect(wordAt(buffer, 0, D.STATE_OFFSET)).toBe(MONITOR_STATE_IDLE);
    expect(wordAt(buffer, 0, 60)).toBe(0);
  });

  it('writes only its own 64 bytes', () => {
    const buffer = new SharedArrayBuffer(192);
    const bytes = new Uint8Array(buffer);
    bytes.fill(0x77);
    ThreadMonitor.format(buffer, 64);
    expect(bytes.subarray(0, 64).every((b) => b === 0x77)).toBe(true);
    expect(bytes.subarray(128).every((b) => b === 0x77)).toBe(true);
  });

  it('works over a plain (non-shared) ArrayBuffer', () => {
    const { monitor } = fresh({ shared: false });
    monitor.beginTransaction(42, 0, 0);
    expect(monitor.getProcessingSeq()).toBe(42);
  });

  it('rejects a byteOffset that is not a multiple of 64 with ERR_PHOENIX_INVALID_ARGUMENT', () => {
    expectPhoenixError(
      () => ThreadMonitor.format(new SharedArrayBuffer(256), 32),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /32/,
    );
  });

  it('rejects a record that would run past the region end with ERR_PHOENIX_BAD_MONITOR', () => {
    expectPhoenixError(() => ThreadMonitor.format(new SharedArrayBuffer(100), 64), 'ERR_PHOENIX_BAD_MONITOR', /100/);
  });
});

describe('ThreadMonitor.beginTransactionAt', () => {
  it('writes the record beginTransaction writes, with the start time read from times[index]', () => {
    const viaArgument = fresh().monitor;
    const viaArray = fresh().monitor;
    viaArgument.beginTransaction(7, 1, 3, 2, 9, 1234, 2, 55.5);
    viaArray.beginTransactionAt(7, 1, 3, 2, 9, 1234, 2, Float64Array.of(0, 0, 55.5), 2);
    expect(viaArray.snapshot()).toEqual(viaArgument.snapshot());
    expect(viaArray.snapshot().startTimestamp).toBe(55.5);
  });
});

describe('ThreadMonitor.intact', () => {
  it('says yes for a record attach() accepts', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(7, 1, 3, 2, 9, 1234, 2, 55.5);
    expect(monitor.intact()).toBe(true);
  });

  it('says no for a wrong magic or a value no worker writes, as attach() would throw', () => {
    const { buffer, monitor } = fresh();
    setWordAt(buffer, 0, D.MAGIC_OFFSET, D.MONITOR_MAGIC ^ 1);
    expect(monitor.intact()).toBe(false);
    monitor.repair(GROUP_NORMAL, 0);
    expect(monitor.intact()).toBe(true);
    setWordAt(buffer, 0, D.STATE_OFFSET, 7);
    expect(monitor.intact()).toBe(false);
  });
});

describe('ThreadMonitor.attach', () => {
  it('sees the record another instance formatted and writes to', () => {
    const { buffer, monitor } = fresh({ offset: 64 });
    const other = ThreadMonitor.attach(buffer, 64);
    monitor.beginTransaction(7, 1, 3, 2, 9, 1234, 2, 55.5);
    expect(other.snapshot()).toEqual(monitor.snapshot());
    expect(other.byteOffset).toBe(64);
  });

  it('rejects an all-zero region with ERR_PHOENIX_BAD_MONITOR naming the magic', () => {
    expectPhoenixError(
      () => ThreadMonitor.attach(new SharedArrayBuffer(64), 0),
      'ERR_PHOENIX_BAD_MONITOR',
      /magic 0x0/,
    );
  });

  it('rejects random garbage with ERR_PHOENIX_BAD_MONITOR', () => {
    const next = mulberry32Words(0xc0ffee);
    const buffer = new SharedArrayBuffer(64);
    const words = new Uint32Array(buffer);
    for (let trial = 0; trial < 1000; trial++) {
      for (let i = 0; i < words.length; i++) words[i] = next();
      expectPhoenixError(() => ThreadMonitor.attach(buffer, 0), 'ERR_PHOENIX_BAD_MONITOR');
    }
  });

  it('rejects a record whose magic is off by one bit', () => {
    const { buffer } = fresh();
    setWordAt(buffer, 0, D.MAGIC_OFFSET, D.MONITOR_MAGIC ^ 0x100);
    expectPhoenixError(() => ThreadMonitor.attach(buffer, 0), 'ERR_PHOENIX_BAD_MONITOR', /bad monitor magic/);
  });

  it.each([1, 8, 32, 63, 65, 96])(
    'rejects byteOffset %i (not a multiple of 64) with ERR_PHOENIX_INVALID_ARGUMENT',
    (offset) => {
      const { buffer } = fresh();
      expectPhoenixError(() => ThreadMonitor.attach(buffer, offset), 'ERR_PHOENIX_INVALID_ARGUMENT', /multiple of 64/);
    },
  );

  it.each([-64, 1.5, Number.NaN])(
    'rejects byteOffset %s (not a non-negative integer) with ERR_PHOENIX_INVALID_ARGUMENT',
    (offset) => {
      const { buffer } = fresh();
      expectPhoenixError(() => ThreadMonitor.attach(buffer, offset), 'ERR_PHOENIX_INVALID_ARGUMENT');
    },
  );

  it('rejects a record that starts at the region end with ERR_PHOENIX_BAD_MONITOR', () => {
    const { buffer } = fresh({ bytes: 128 });
    expectPhoenixError(() => ThreadMonitor.attach(buffer, 128), 'ERR_PHOENIX_BAD_MONITOR', /past the region end 128/);
  });

  it('rejects a record cut short by the region end with ERR_PHOENIX_BAD_MONITOR', () => {
    const buffer = new SharedArrayBuffer(120);
    expectPhoenixError(() => ThreadMonitor.attach(buffer, 64), 'ERR_PHOENIX_BAD_MONITOR', /past the region end 120/);
  });

  it('accepts the last whole record of a region', () => {
    const buffer = new SharedArrayBuffer(192);
    ThreadMonitor.format(buffer, 128, GROUP_VIP, 2);
    const monitor = ThreadMonitor.attach(buffer, 128);
    expect(monitor.getWorkerIndex()).toBe(2);
  });

  it('keeps neighbouring records independent', () => {
    const buffer = new SharedArrayBuffer(128);
    const a = ThreadMonitor.format(buffer, 0, 0, 0);
    const b = ThreadMonitor.format(buffer, 64, 1, 1);
    a.beginTransaction(11, 0, 0, 1, 2, 3, 1, 4);
    expect(b.isProcessing()).toBe(false);
    expect(ThreadMonitor.attach(buffer, 64).snapshot()).toEqual({ ...IDLE_SNAPSHOT, groupId: 1, workerIndex: 1 });
    b.beginTransaction(22, 1, 1);
    a.endTransaction();
    expect(b.getProcessingSeq()).toBe(22);
    expect(a.getProcessingSeq()).toBe(0);
  });

  it('accepts a record left PROCESSING (a crashed worker) as valid', () => {
    const { buffer, monitor } = fresh();
    monitor.beginTransaction(Number.MAX_SAFE_INTEGER, 1, 63, 16, 2 ** 32 - 1, 2 ** 32 - 1, 3, 1);
    const attached = ThreadMonitor.attach(buffer, 0);
    expect(attached.getProcessingSeq()).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('ThreadMonitor arguments a record could not keep', () => {
  it.each([
    ['group id 2', [1, 2, 0]],
    ['seq id 0 (kInvalidSeqId)', [0, 0, 0]],
    ['seq id -1', [-1, 0, 0]],
    ['seq id 1.5', [1.5, 0, 0]],
    ['seq id null', [null, 0, 0]],
    ['seq id 2^53', [2 ** 53, 0, 0]],
    ['worker index -1', [1, 0, -1]],
    ['slot -2', [1, 0, 0, -2]],
    ['attempt 0', [1, 0, 0, -1, 0, 0, 0]],
  ])(
    'beginTransaction refuses %s with ERR_PHOENIX_INVALID_ARGUMENT and leaves the record attachable',
    (_what, args) => {
      const { buffer, monitor } = fresh();
      expectPhoenixError(
        () => (monitor.beginTransaction as (...values: unknown[]) => void)(...args),
        'ERR_PHOENIX_INVALID_ARGUMENT',
      );
      expect(monitor.isProcessing()).toBe(false);
      expect(ThreadMonitor.attach(buffer, 0).isProcessing()).toBe(false);
    },
  );

  it('format refuses a group id or worker index a record could not keep, and a buffer that is none', () => {
    const buffer = new SharedArrayBuffer(256);
    expectPhoenixError(() => ThreadMonitor.format(buffer, 0, 7, 0), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expectPhoenixError(() => ThreadMonitor.format(buffer, 0, GROUP_NORMAL, -2), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expectPhoenixError(() => ThreadMonitor.format(null as never, 0), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expectPhoenixError(() => ThreadMonitor.attach({} as never, 0), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});
