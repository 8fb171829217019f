import { describe, expect, it } from 'vitest';
import { judgeAlternatePaths } from '../src/bench/alternate-paths-report.js';
import type { StrategyPairResult } from '../src/bench/strategy-pair.js';

/** A strategy pair whose 16 B row has these adaptive rounds: plain, empty payloads, concurrency 2. */
function pair(adaptive: number[], adaptiveEmpty: number[], adaptiveConcurrent: number[] = []): StrategyPairResult {
  const row = {
    payloadBytes: 16,
    adaptive,
    block: adaptive,
    adaptiveSend: [],
    forkJson: [],
    adaptiveEmpty,
    adaptiveConcurrent,
  };
  return { rounds: adaptive.length, verified: 0, rows: [row] };
}

const verdictOn = (result: StrategyPairResult, what: string) =>
  judgeAlternatePaths(result).find((verdict) => verdict.target.includes(what))!;

describe('calls that carry nothing', () => {
  it('pass when empty calls keep pace with 16-byte ones in the same rounds', () => {
    const verdict = verdictOn(pair([2e6, 1.8e6, 2.2e6], [2.1e6, 1.85e6, 2.1e6]), 'empty');
    expect(verdict.status).toBe('PASS');
    expect(verdict.measured).toMatch(/^1\.03× \(rounds 1\.05×, 1\.03×, 0\.95×/);
  });

  it('fail at the 0.73× that a fresh ArrayBuffer per empty reply cost', () => {
    const verdict = verdictOn(pair([2e6, 2e6, 2e6], [1.46e6, 1.48e6, 1.5e6]), 'empty');
    expect(verdict.status).toBe('FAIL');
    expect(verdict.measured).toMatch(/^0\.74×/);
  });

  it('judge each round against its own 16 B window, not the medians, so that a setting that moves between rounds falls on both', () => {
    // The medians alone would read 1.5 M / 2.0 M = 0.75×; round by round, two of three keep pace.
    const verdict = verdictOn(pair([3e6, 2e6, 1e6], [1.5e6, 2e6, 1e6]), 'empty');
    expect(verdict.status).toBe('PASS');
    expect(verdict.measured).toMatch(/^1\.00×/);
  });
});

describe('a worker with concurrency 2', () => {
  it('passes when its copied replies keep most of the pace of replies written in place', () => {
    expect(verdictOn(pair([2e6, 2e6], [2e6, 2e6], [1.9e6, 1.7e6]), 'concurrency 2').status).toBe('PASS');
  });

  it('fails at the 0.2–0.5× that building each reply apart cost', () => {
    const verdict = verdictOn(pair([2.6e6, 2.6e6], [2.6e6, 2.6e6], [0.57e6, 1.25e6]), 'concurrency 2');
    expect(verdict.status).toBe('FAIL');
  });
});

describe('the alternate paths', () => {
  it('are not judged without the strategy pair, or where their turns were not taken', () => {
    expect(judgeAlternatePaths(null)).toEqual([]);
    expect(judgeAlternatePaths(pair([2e6], []))).toEqual([]);
  });
});
