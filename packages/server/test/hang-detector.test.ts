// The hang scan's two phases, as the pure step each scan takes: no process,
// no timer. Hangs on real processes are in worker-crash.test.ts.
import type { HungTransaction } from '@phoenix-ipc/shm-layout';
import { describe, expect, it } from 'vitest';
import { advanceSuspects, HangDetector } from '../src/hang-detector.js';

function hung(transaction: number, workerIndex = 0): HungTransaction {
  return { group: 'normal', workerIndex, lane: 0, seqId: 7, transaction, startTimestamp: 0, elapsedMs: 100 };
}

describe('advanceSuspects', () => {
  it('makes a transaction seen over the limit for the first time a suspect, not a hang', () => {
    const verdict = advanceSuspects(new Map(), [hung(1)], 10);
    expect(verdict.confirmed).toEqual([]);
    expect([...verdict.suspects.values()]).toEqual([10]);
  });
  it('confirms a suspect still running at the next scan', () => {
    const first = advanceSuspects(new Map(), [hung(1)], 10);
    expect(advanceSuspects(first.suspects, [hung(1)], 20).confirmed).toEqual([hung(1)]);
  });
  it('keeps a confirmed transaction a suspect from when it was first seen', () => {
    const first = advanceSuspects(new Map(), [hung(1)], 10);
    expect([...advanceSuspects(first.suspects, [hung(1)], 20).suspects.values()]).toEqual([10]);
  });
  it('drops a suspect that finished before the next scan', () => {
    const first = advanceSuspects(new Map(), [hung(1)], 10);
    expect(advanceSuspects(first.suspects, [], 20).suspects.size).toBe(0);
  });
  it('does not confirm a new transaction of the same worker (a long task after another)', () => {
    const first = advanceSuspects(new Map(), [hung(1)], 10);
    expect(advanceSuspects(first.suspects, [hung(2)], 20).confirmed).toEqual([]);
  });
  it('tells workers apart', () => {
    const first = advanceSuspects(new Map(), [hung(1, 0)], 10);
    expect(advanceSuspects(first.suspects, [hung(1, 1)], 20).confirmed).toEqual([]);
  });
});

describe('HangDetector.heartbeatBoundMs', () => {
  const detector = (hangTimeoutMs: number) =>
    new HangDetector({ layout: {} as never, hangTimeoutMs, heartbeatMs: 1000, active: () => false, onHang: () => {} });

  it('lets an idle heartbeat back off to half the hang timeout when the watch rides on it', () => {
    expect(detector(30_000).heartbeatBoundMs).toBe(15_000);
    expect(detector(2000).heartbeatBoundMs).toBe(1000);
  });

  it('does not bound the heartbeat when the watch has its own, quicker timer', () => {
    expect(detector(1000).heartbeatBoundMs).toBe(Number.POSITIVE_INFINITY);
  });
});
