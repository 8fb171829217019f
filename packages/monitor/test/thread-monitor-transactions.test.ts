// A monitor's transactions: begin, end, count, reset, snapshot and validate.
import { expectPhoenixError, mulberry32Words } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { GROUP_VIP, MONITOR_STATE_PROCESSING, monotonicNowMs, ThreadMonitor } from '../src/index.js';
import { setWordAt } from './helpers.js';
import { D, fresh, IDLE_SNAPSHOT } from './thread-monitor-kit.js';

describe('ThreadMonitor.beginTransaction', () => {
  it('marks the record PROCESSING and every getter reads back what was begun', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(123_456, GROUP_VIP, 3, 7, 42, 1001, 2, 98_765.25);
    expect(monitor.isProcessing()).toBe(true);
    expect(monitor.getProcessingSeq()).toBe(123_456);
    expect(monitor.getGroupId()).toBe(GROUP_VIP);
    expect(monitor.getWorkerIndex()).toBe(3);
    expect(monitor.getSlot()).toBe(7);
    expect(monitor.getRingPosition()).toBe(42);
    expect(monitor.getFuncId()).toBe(1001);
    expect(monitor.getAttempt()).toBe(2);
    expect(monitor.getStartTimestamp()).toBe(98_765.25);
    expect(monitor.getTransaction()).toBe(1);
  });

  it('writes each field at its documented byte offset, little-endian', () => {
    const { buffer, monitor } = fresh({ offset: 64 });
    monitor.beginTransaction(0x12_3456_789a, 1, 3, 7, 42, 1001, 2, 1.5);
    const view = new DataView(buffer, 64, 64);
    expect(view.getInt32(D.STATE_OFFSET, true)).toBe(MONITOR_STATE_PROCESSING);
    expect(view.getInt32(D.TRANSACTION_OFFSET, true)).toBe(1);
    expect(view.getInt32(D.GROUP_ID_OFFSET, true)).toBe(1);
    expect(view.getInt32(D.WORKER_INDEX_OFFSET, true)).toBe(3);
    expect(view.getUint32(D.SEQ_ID_LOW_OFFSET, true)).toBe(0x3456_789a);
    expect(view.getUint32(D.SEQ_ID_HIGH_OFFSET, true)).toBe(0x12);
    expect(view.getFloat64(D.START_TIMESTAMP_OFFSET, true)).toBe(1.5);
    expect(view.getInt32(D.SLOT_OFFSET, true)).toBe(7);
    expect(view.getUint32(D.RING_POSITION_OFFSET, true)).toBe(42);
    expect(view.getUint32(D.FUNC_ID_OFFSET, true)).toBe(1001);
    expect(view.getInt32(D.ATTEMPT_OFFSET, true)).toBe(2);
    expect(view.getUint32(D.MAGIC_OFFSET, true)).toBe(D.MONITOR_MAGIC);
  });

  it('defaults slot to -1, ring position 0, func id 0 and attempt 1', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(5, 0, 1);
    expect(monitor.getSlot()).toBe(-1);
    expect(monitor.getRingPosition()).toBe(0);
    expect(monitor.getFuncId()).toBe(0);
    expect(monitor.getAttempt()).toBe(1);
  });

  it('stamps the start with monotonicNowMs() when no timestamp is given', () => {
    const { monitor } = fresh();
    const before = monotonicNowMs();
    monitor.beginTransaction(5, 0, 0);
    const after = monotonicNowMs();
    expect(monitor.getStartTimestamp()).toBeGreaterThanOrEqual(before);
    expect(monitor.getStartTimestamp()).toBeLessThanOrEqual(after);
  });

  it.each([
    1,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 1,
    2 ** 52 + 12_345,
    Number.MAX_SAFE_INTEGER - 1,
    Number.MAX_SAFE_INTEGER,
  ])('round-trips seq id %d', (seqId) => {
    const { buffer, monitor } = fresh();
    monitor.beginTransaction(seqId, 0, 0);
    expect(monitor.getProcessingSeq()).toBe(seqId);
    expect(monitor.snapshot().seqId).toBe(seqId);
    expect(ThreadMonitor.attach(buffer, 0).getProcessingSeq()).toBe(seqId);
  });

  it('round-trips a thousand random safe-integer seq ids', () => {
    const { monitor } = fresh();
    const next = mulberry32Words(1234);
    for (let i = 0; i < 1000; i++) {
      const seqId = (next() & 0x1fffff) * 2 ** 32 + next();
      if (seqId === 0) continue;
      monitor.beginTransaction(seqId, 0, 0);
      expect(monitor.getProcessingSeq()).toBe(seqId);
      monitor.endTransaction();
    }
  });

  it('reads ring positions and func ids up to 2^32-1 as unsigned', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(1, 0, 0, 0, 2 ** 32 - 1, 2 ** 32 - 1);
    expect(monitor.getRingPosition()).toBe(2 ** 32 - 1);
    expect(monitor.getFuncId()).toBe(2 ** 32 - 1);
    expect(monitor.snapshot()).toMatchObject({ ringPosition: 2 ** 32 - 1, funcId: 2 ** 32 - 1 });
  });

  it('counts every begin in the transaction counter', () => {
    const { monitor } = fresh();
    for (let i = 1; i <= 5; i++) {
      monitor.beginTransaction(i, 0, 0);
      expect(monitor.getTransaction()).toBe(i);
      monitor.endTransaction();
    }
    expect(monitor.getTransaction()).toBe(5);
  });

  it('replaces the fields of the previous transaction', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(2 ** 40, 1, 9, 3, 8, 5000, 3, 10);
    monitor.endTransaction();
    monitor.beginTransaction(2, 0, 1, 0, 1, 1001, 1, 20);
    expect(monitor.snapshot()).toEqual({
      processing: true,
      transaction: 2,
      seqId: 2,
      groupId: 0,
      workerIndex: 1,
      startTimestamp: 20,
      slot: 0,
      ringPosition: 1,
      funcId: 1001,
      attempt: 1,
      processed: 1,
      failed: 0,
      replyMark: 0,
    });
  });
});

describe('ThreadMonitor.endTransaction', () => {
  it('returns the record to IDLE and counts a processed transaction', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(9, 0, 0);
    monitor.endTransaction();
    expect(monitor.isProcessing()).toBe(false);
    expect(monitor.getProcessed()).toBe(1);
    expect(monitor.getFailed()).toBe(0);
  });

  it('counts a failed transaction when asked', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(9, 0, 0);
    monitor.endTransaction(true);
    expect(monitor.getProcessed()).toBe(0);
    expect(monitor.getFailed()).toBe(1);
  });

  it('keeps separate running totals of processed and failed transactions', () => {
    const { monitor } = fresh();
    const outcomes = [false, true, false, false, true, false];
    outcomes.forEach((failed, i) => {
      monitor.beginTransaction(i + 1, 0, 0);
      monitor.endTransaction(failed);
    });
    expect(monitor.getProcessed()).toBe(4);
    expect(monitor.getFailed()).toBe(2);
    expect(monitor.getTransaction()).toBe(6);
  });

  it('leaves getProcessingSeq at 0 once idle', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(2 ** 45, 0, 0);
    monitor.endTransaction();
    expect(monitor.getProcessingSeq()).toBe(0);
  });
});

describe('ThreadMonitor.count', () => {
  it('adds to the counters without a transaction', () => {
    const { monitor } = fresh();
    monitor.count(false);
    monitor.count(true);
    monitor.count(true);
    expect(monitor.getProcessed()).toBe(1);
    expect(monitor.getFailed()).toBe(2);
    expect(monitor.getTransaction()).toBe(0);
    expect(monitor.isProcessing()).toBe(false);
  });
});

describe('ThreadMonitor.reset', () => {
  it('returns a PROCESSING record to IDLE', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(77, 0, 0, 3, 4, 1001, 1, 12);
    monitor.reset();
    expect(monitor.isProcessing()).toBe(false);
    expect(monitor.getProcessingSeq()).toBe(0);
  });

  it('clears the seq id, slot and start timestamp', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(2 ** 50, 0, 0, 3, 4, 1001, 1, 12);
    monitor.reset();
    const snapshot = monitor.snapshot();
    expect(snapshot.seqId).toBe(0);
    expect(snapshot.slot).toBe(-1);
    expect(snapshot.startTimestamp).toBe(0);
  });

  it('keeps the processed, failed and transaction counters', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(1, 0, 0);
    monitor.endTransaction();
    monitor.beginTransaction(2, 0, 0);
    monitor.endTransaction(true);
    monitor.beginTransaction(3, 0, 0);
    monitor.reset();
    expect(monitor.getProcessed()).toBe(1);
    expect(monitor.getFailed()).toBe(1);
    expect(monitor.getTransaction()).toBe(3);
  });

  it('leaves a record that attach() accepts', () => {
    const { buffer, monitor } = fresh();
    monitor.beginTransaction(Number.MAX_SAFE_INTEGER, 1, 2);
    monitor.reset();
    expect(() => ThreadMonitor.attach(buffer, 0)).not.toThrow();
  });
});

describe('ThreadMonitor.snapshot', () => {
  it('returns every field of a transaction in progress', () => {
    const { monitor } = fresh();
    monitor.count(true);
    monitor.beginTransaction(2 ** 33 + 5, GROUP_VIP, 4, 12, 99, 4242, 3, 777.125);
    expect(monitor.snapshot()).toEqual({
      processing: true,
      transaction: 1,
      seqId: 2 ** 33 + 5,
      groupId: 1,
      workerIndex: 4,
      startTimestamp: 777.125,
      slot: 12,
      ringPosition: 99,
      funcId: 4242,
      attempt: 3,
      processed: 0,
      failed: 1,
      replyMark: 0,
    });
  });

  it('keeps the last transaction’s fields (but processing false) once it ended', () => {
    const { monitor } = fresh();
    monitor.beginTransaction(31, 0, 2, 1, 5, 1001, 1, 3);
    monitor.endTransaction();
    expect(monitor.snapshot()).toMatchObject({ processing: false, seqId: 31, slot: 1, processed: 1 });
  });

  it('has exactly the documented keys', () => {
    const { monitor } = fresh();
    expect(Object.keys(monitor.snapshot()).sort()).toEqual(Object.keys(IDLE_SNAPSHOT).sort());
  });
});

describe('ThreadMonitor.validate', () => {
  it('accepts a freshly formatted record', () => {
    const { monitor } = fresh();
    expect(() => monitor.validate()).not.toThrow();
  });

  it.each([2, -1, 0x7fffffff])('rejects state word %i with ERR_PHOENIX_BAD_MONITOR', (state) => {
    const { buffer, monitor } = fresh();
    setWordAt(buffer, 0, D.STATE_OFFSET, state);
    expectPhoenixError(() => monitor.validate(), 'ERR_PHOENIX_BAD_MONITOR', new RegExp(`state ${state}`));
  });

  it.each([2, -1, 1000])('rejects group id %i with ERR_PHOENIX_BAD_MONITOR', (group) => {
    const { buffer, monitor } = fresh();
    setWordAt(buffer, 0, D.GROUP_ID_OFFSET, group);
    expectPhoenixError(() => monitor.validate(), 'ERR_PHOENIX_BAD_MONITOR', new RegExp(`group id ${group}`));
  });

  it.each([2 ** 21, 2 ** 31 - 1, -1])(
    'rejects seq-id high word %i (beyond 2^53) with ERR_PHOENIX_BAD_MONITOR',
    (high) => {
      const { buffer, monitor } = fresh();
      setWordAt(buffer, 0, D.SEQ_ID_HIGH_OFFSET, high);
      expectPhoenixError(() => monitor.validate(), 'ERR_PHOENIX_BAD_MONITOR', /seq id high word/);
    },
  );

  it('accepts the largest seq-id high word, 2^21-1', () => {
    const { buffer, monitor } = fresh();
    setWordAt(buffer, 0, D.SEQ_ID_HIGH_OFFSET, 2 ** 21 - 1);
    expect(() => monitor.validate()).not.toThrow();
  });

  it('rejects a negative worker index with ERR_PHOENIX_BAD_MONITOR', () => {
    const { buffer, monitor } = fresh();
    setWordAt(buffer, 0, D.WORKER_INDEX_OFFSET, -3);
    expectPhoenixError(() => monitor.validate(), 'ERR_PHOENIX_BAD_MONITOR', /worker index -3/);
  });

  it('makes attach() reject a record with a valid magic but a garbage state', () => {
    const { buffer } = fresh();
    setWordAt(buffer, 0, D.STATE_OFFSET, 7);
    expectPhoenixError(() => ThreadMonitor.attach(buffer, 0), 'ERR_PHOENIX_BAD_MONITOR', /state 7/);
  });

  it('never throws anything but ERR_PHOENIX_BAD_MONITOR on random words behind a valid magic', () => {
    const { buffer } = fresh();
    const words = new Int32Array(buffer, 0, 16);
    const next = mulberry32Words(99);
    let accepted = 0;
    for (let trial = 0; trial < 2000; trial++) {
      for (let i = 0; i < 16; i++) words[i] = next() & (next() & 1 ? 0x3 : 0xffffffff);
      words[D.MAGIC_OFFSET >> 2] = D.MONITOR_MAGIC;
      try {
        ThreadMonitor.attach(buffer, 0).snapshot();
        accepted++;
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ERR_PHOENIX_BAD_MONITOR');
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
