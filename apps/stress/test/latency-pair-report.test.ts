import { describe, expect, it } from 'vitest';
import type { LatencyPairResult, LatencySeries } from '../src/bench/latency-pair.js';
import { judgeLatencyPair } from '../src/bench/latency-pair-report.js';

const SMALL =
  '[#16] 16 B round trip, adaptive: p50 within 1.5× of the raw JS spin rings, median of 3 alternating rounds';
const BIG =
  '[#16] 64 KiB round trip, adaptive, call: p50 and mean within 1.5× of the C busy-spin, median of 3 alternating rounds';

function series(p50Us: number[], meanUs: number[] = p50Us): LatencySeries {
  return { p50Us, meanUs };
}

function pair(overrides: Partial<LatencyPairResult>): LatencyPairResult {
  return {
    rounds: 3,
    phoenix16: series([1, 1, 1]),
    rawJs16: series([1, 1, 1]),
    phoenixBig: series([10, 10, 10]),
    cBig: series([10, 10, 10]),
    bigBytes: 65_536,
    verified: 0,
    ...overrides,
  };
}

function verdict(result: LatencyPairResult | null, target: string) {
  return judgeLatencyPair(result).find((entry) => entry.target.startsWith(target.split(', median')[0]!));
}

describe('the #16 round-trip targets in alternating rounds', () => {
  it('judges 16 B on the median of the rounds’ ratios, not on one lucky round', () => {
    const result = pair({ phoenix16: series([1.2, 2.0, 1.6]), rawJs16: series([1.0, 1.0, 1.0]) });
    const small = verdict(result, SMALL);
    expect(small?.target).toBe(SMALL);
    expect(small?.status).toBe('FAIL');
    expect(small?.measured).toMatch(/^1\.60×/);
  });

  it('pairs each round with itself, not the median of one side with the median of the other', () => {
    // Round 2 was slow for PhoenixIPC's turn only, round 3 for both turns: each side's median alone gives 3.6×.
    const result = pair({ phoenix16: series([0.6, 2.0, 2.1]), rawJs16: series([0.5, 0.55, 1.9]) });
    const small = verdict(result, SMALL);
    expect(small?.status).toBe('PASS');
    expect(small?.measured).toMatch(/^1\.20×/);
  });

  it('fails 64 KiB when the mean is over 1.5× the C pair’s, even with the p50 within it', () => {
    const result = pair({ phoenixBig: series([12, 12, 12], [40, 40, 40]) });
    const big = verdict(result, BIG);
    expect(big?.target).toBe(BIG);
    expect(big?.status).toBe('FAIL');
    expect(big?.measured).toMatch(/^p50 1\.20× .*mean 4\.00×/);
  });

  it('passes 64 KiB when both the median p50 and the median mean ratios are within 1.5×', () => {
    expect(verdict(pair({ phoenixBig: series([14, 12, 13], [14, 13, 15]) }), BIG)?.status).toBe('PASS');
  });

  it('leaves 64 KiB unjudged when the C pair could not be built', () => {
    expect(verdict(pair({ cBig: series([]) }), BIG)?.status).toBe('n/a');
  });

  it('judges nothing when the job did not run', () => {
    expect(judgeLatencyPair(null).map((entry) => entry.status)).toEqual(['n/a', 'n/a']);
  });
});
