import { describe, expect, it } from 'vitest';
import { judgeOneCpu, judgeOneCpuSupervisor, oneCpuTable } from '../src/bench/one-cpu.js';
import type { StrategyPairResult } from '../src/bench/strategy-pair.js';
import type { TransportResult } from '../src/bench/types.js';

/** A strategy pair's result: per size, [adaptive, block] calls/s in every round. */
function pair(rows: Record<number, [number, number]>, rounds = 4): StrategyPairResult {
  return {
    rounds,
    verified: 0,
    rows: Object.entries(rows).map(([bytes, [adaptive, block]]) => ({
      payloadBytes: Number(bytes),
      adaptive: Array(rounds).fill(adaptive),
      block: Array(rounds).fill(block),
      adaptiveSend: [],
      forkJson: [],
      adaptiveEmpty: [],
      adaptiveConcurrent: [],
    })),
  };
}

const twoCpus = pair({ 16: [2e6, 1.2e6], 65536: [70e3, 40e3] }, 8);

describe('the pipelined rows on one CPU', () => {
  it('pass when adaptive is not below block and keeps a fair share of its two-CPU figure', () => {
    const verdicts = judgeOneCpu(pair({ 16: [1e6, 6e5], 65536: [40e3, 25e3] }), twoCpus);
    expect(verdicts.map((verdict) => verdict.status)).toEqual(['PASS', 'PASS', 'PASS', 'PASS']);
  });

  it('fail on the collapse of a worker spinning on a full response ring (500 calls/s of 64 KiB)', () => {
    const verdicts = judgeOneCpu(pair({ 16: [8.5e5, 5.6e5], 65536: [500, 1200] }), twoCpus);
    const big = verdicts.filter((verdict) => verdict.target.includes('64 KiB'));
    expect(big.map((verdict) => verdict.status)).toEqual(['FAIL', 'FAIL']);
    expect(big[1]!.measured).toContain('500 / 70.0 k');
  });

  it('are not judged against two CPUs without the strategy pair, and not at all without the job', () => {
    const alone = judgeOneCpu(pair({ 16: [1e6, 6e5], 65536: [40e3, 25e3] }), null);
    expect(alone.map((verdict) => verdict.status)).toEqual(['PASS', 'n/a', 'PASS', 'n/a']);
    expect(judgeOneCpu(null, twoCpus)).toEqual([]);
  });

  it('table each size next to the two-CPU median, or a dash without it', () => {
    const oneCpu = pair({ 16: [1e6, 5e5], 65536: [35e3, 20e3] });
    expect(oneCpuTable(oneCpu, twoCpus)).toContain('0.50×');
    expect(oneCpuTable(oneCpu, null)).toMatch(/\| 16 B +\| +1\.00 M \| +500 k \| +2\.00× \| +– \| +– \|/);
  });

  it("judge the supervisor's own calls against its two-CPU transport row", () => {
    const rows = (rates: [number, number]) =>
      ({
        sizes: [16, 65536].map((payloadBytes, index) => ({ payloadBytes, throughput: { msgsPerSec: rates[index] } })),
      }) as unknown as TransportResult;
    const twoCpuRow = rows([1.4e6, 90e3]);
    // Its spin that never yielded: 58 k and 3.6 k calls/s on one CPU.
    expect(judgeOneCpuSupervisor(rows([58e3, 3.6e3]), twoCpuRow).map((verdict) => verdict.status)).toEqual([
      'FAIL',
      'FAIL',
    ]);
    expect(judgeOneCpuSupervisor(rows([1.05e6, 40e3]), twoCpuRow).map((verdict) => verdict.status)).toEqual([
      'PASS',
      'PASS',
    ]);
    expect(judgeOneCpuSupervisor(null, twoCpuRow)).toEqual([]);
  });
});
