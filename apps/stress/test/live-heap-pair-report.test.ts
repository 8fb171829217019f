import { describe, expect, it } from 'vitest';
import { judgeRoundTwoTargets } from '../src/bench/report.js';
import type { StrategyPairResult, StrategyPairRow } from '../src/bench/strategy-pair.js';

const NEVER_BELOW =
  '[#16] pipelined 16 B x64 with a live heap: adaptive never below block, median of 3 alternating rounds';
const TWO_MILLION =
  '[#16] pipelined 16 B x64, adaptive (callAsync), client with a live heap after a sequential phase, median of 3 alternating rounds: ≥ 2,000,000 calls/s';

function livePair(adaptive: number[], block: number[]): StrategyPairResult {
  const row: StrategyPairRow = {
    payloadBytes: 16,
    adaptive,
    block,
    adaptiveSend: [],
    forkJson: [],
    adaptiveEmpty: [],
    adaptiveConcurrent: [],
  };
  return { rounds: 3, rows: [row], verified: 0, liveHeap: { bytes: 200 << 20, objects: 4_000_000 } };
}

function verdict(pair: StrategyPairResult | null, target: string) {
  return judgeRoundTwoTargets([], [], [], null, pair).find((entry) => entry.target === target);
}

describe('the #16 live-heap targets in alternating rounds', () => {
  it('judges adaptive against block on the medians of the rounds, not on one slow round', () => {
    // Block's one fast round (a setting of the machine that came and went) does not decide it.
    const never = verdict(livePair([1.4e6, 1.5e6, 1.3e6], [1.2e6, 1.7e6, 1.1e6]), NEVER_BELOW);
    expect(never?.status).toBe('PASS');
    expect(never?.measured).toMatch(/^adaptive 1\.40 M \/ block 1\.20 M = 1\.17×/);
  });

  it('fails when adaptive is below block in the median', () => {
    expect(verdict(livePair([1.0e6, 1.1e6, 0.9e6], [1.2e6, 1.1e6, 1.3e6]), NEVER_BELOW)?.status).toBe('FAIL');
  });

  it('judges 2 M calls/s with a live heap on the median of the adaptive rounds', () => {
    expect(verdict(livePair([2.1e6, 1.9e6, 2.2e6], [1e6, 1e6, 1e6]), TWO_MILLION)?.status).toBe('PASS');
    expect(verdict(livePair([2.1e6, 1.9e6, 1.8e6], [1e6, 1e6, 1e6]), TWO_MILLION)?.status).toBe('FAIL');
  });

  it('adds no verdict when the pair did not run', () => {
    expect(verdict(null, NEVER_BELOW)).toBeUndefined();
    expect(verdict(null, TWO_MILLION)).toBeUndefined();
  });
});
