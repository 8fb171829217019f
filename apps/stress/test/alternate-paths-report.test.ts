import { describe, expect, it } from 'vitest';
import { judgeEmptyPayloads } from '../src/bench/empty-payload-report.js';
import type { StrategyPairResult } from '../src/bench/strategy-pair.js';

/** A strategy pair whose 16 B row has these adaptive rounds, 16 B and empty. */
function pair(adaptive: number[], adaptiveEmpty: number[]): StrategyPairResult {
  const row = { payloadBytes: 16, adaptive, block: adaptive, adaptiveSend: [], forkJson: [], adaptiveEmpty };
  return { rounds: adaptive.length, verified: 0, rows: [row] };
}

describe('calls that carry nothing', () => {
  it('pass when empty calls keep pace with 16-byte ones in the same rounds', () => {
    const [verdict] = judgeEmptyPayloads(pair([2e6, 1.8e6, 2.2e6], [2.1e6, 1.85e6, 2.1e6]));
    expect(verdict!.status).toBe('PASS');
    expect(verdict!.measured).toMatch(/^1\.03× \(rounds 1\.05×, 1\.03×, 0\.95×/);
  });

  it('fail at the 0.73× that a fresh ArrayBuffer per empty reply cost', () => {
    const [verdict] = judgeEmptyPayloads(pair([2e6, 2e6, 2e6], [1.46e6, 1.48e6, 1.5e6]));
    expect(verdict!.status).toBe('FAIL');
    expect(verdict!.measured).toMatch(/^0\.74×/);
  });

  it('judge each round against its own 16 B window, not the medians, so that a setting that moves between rounds falls on both', () => {
    // The medians alone would read 1.5 M / 2.0 M = 0.75×; round by round, two of three keep pace.
    const [verdict] = judgeEmptyPayloads(pair([3e6, 2e6, 1e6], [1.5e6, 2e6, 1e6]));
    expect(verdict!.status).toBe('PASS');
    expect(verdict!.measured).toMatch(/^1\.00×/);
  });

  it('are not judged without the strategy pair or without its empty turns', () => {
    expect(judgeEmptyPayloads(null)).toEqual([]);
    expect(judgeEmptyPayloads(pair([2e6], []))).toEqual([]);
  });
});
