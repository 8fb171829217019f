import { mulberry32 } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { CallMetrics } from '../src/call-metrics.js';

function ordered(summary: { min: number; p50: number; p90: number; p99: number; p999: number; max: number }): void {
  const chain = [summary.min, summary.p50, summary.p90, summary.p99, summary.p999, summary.max];
  for (let i = 1; i < chain.length; i++) expect(chain[i]).toBeGreaterThanOrEqual(chain[i - 1]!);
}

describe('CallMetrics', () => {
  it('keeps min <= p50 <= p90 <= p99 <= p999 <= max for any recorded values', () => {
    // HDR buckets report a percentile as the top of its bucket, which can lie past the recorded max.
    const random = mulberry32(12345);
    for (let round = 0; round < 200; round++) {
      const metrics = new CallMetrics();
      const count = 1 + Math.floor(random() * 300);
      for (let i = 0; i < count; i++) {
        metrics.recordCall(2001, 'normal', null, 1 + random() * 10 ** (1 + random() * 5), true, -1, 0);
      }
      const stats = metrics.snapshot().byFuncId['2001']!;
      expect(stats.endToEndUs.count).toBe(count);
      ordered(stats.endToEndUs);
      ordered(metrics.snapshot().byGroup.normal.endToEndUs);
    }
  });

  it('counts every served request exactly while sampling latencies under load', () => {
    const worker = new CallMetrics();
    for (let i = 0; i < 5000; i++) worker.recordServed(2001, i % 10 === 0 ? 'ERR_PHOENIX_HANDLER_FAILED' : null, 5, 7);
    const supervisor = new CallMetrics();
    supervisor.addDelta(worker.takeDelta()!, 'vip');
    const stats = supervisor.snapshot();
    expect(stats.byFuncId['2001']!.calls).toBe(5000);
    expect(stats.byFuncId['2001']!.errors).toEqual({ ERR_PHOENIX_HANDLER_FAILED: 500 });
    expect(stats.byGroup.vip.calls).toBe(5000);
    expect(stats.byGroup.normal.calls).toBe(0);
    expect(stats.byFuncId['2001']!.handlerUs.count).toBe(1024 + Math.ceil((5000 - 1024) / 16));
    expect(stats.byFuncId['2001']!.handlerUs.p50).toBe(7);
  });

  it('ignores a malformed delta from a broken worker', () => {
    const supervisor = new CallMetrics();
    supervisor.addDelta(null as never, 'normal');
    const garbage = [
      ['!!', '??'],
      [
        [0, 0, 0],
        [-1, 0, 0],
      ], // a negative sum
      [
        [0, 0, 0],
        [1, 1, 1, 5, 0],
      ], // an empty bucket
      [
        [0, 0, 0],
        [1, 1, 1, 1e9, 1],
      ], // a bucket past the largest
      [
        [0, 0, 0],
        [1, 9, 1, 1, 1],
      ], // min above max
    ];
    for (const [queueWait, handler] of garbage)
      supervisor.addDelta({ funcs: [{ funcId: 2001, calls: 3, errors: {}, queueWait, handler }] } as never, 'normal');
    expect(supervisor.snapshot().byFuncId).toEqual({});
  });

  it('sends nothing when nothing changed', () => {
    const worker = new CallMetrics();
    expect(worker.takeDelta()).toBeNull();
    worker.recordServed(2001, null, 1, 1);
    expect(worker.takeDelta()).not.toBeNull();
    expect(worker.takeDelta()).toBeNull();
  });
});
