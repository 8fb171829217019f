import { describe, expect, it } from 'vitest';
import type { ScalingResult } from '../src/bench/jobs.js';
import { judgeRoundTwoTargets, scalingRoundPairs } from '../src/bench/report.js';

function scalingRow(workers: number, callers: number, msgsPerSec: number, round?: number): ScalingResult {
  return {
    workers,
    callers,
    payloadBytes: 16,
    inFlight: 64,
    msgsPerSec,
    perCaller: [],
    processedPerWorker: [],
    verified: 0,
    ...(round === undefined ? {} : { round }),
  };
}

/** Rounds of [1 × 1, 4 × 2] calls/s, as the bench's rows. */
function roundsOf(pairs: [number, number][]): ScalingResult[] {
  return pairs.flatMap(([one, many], index) => [scalingRow(1, 1, one, index + 1), scalingRow(2, 4, many, index + 1)]);
}

const ROUNDS_TARGET =
  '[#16] 4 client processes x64 against 2 workers: ≥ 1 client against 1 worker, median of 3 alternating rounds';

function scalingVerdicts(rounds: ScalingResult[]) {
  const table = [scalingRow(1, 1, 2e6), scalingRow(2, 4, 2.1e6)];
  return judgeRoundTwoTargets([], [], [], table, null, rounds).filter((verdict) => verdict.target.includes('4 client'));
}

describe('the #16 scaling target in alternating rounds', () => {
  it('pairs each round’s 1 × 1 with its 4 × 2, and skips a round that lacks one of them', () => {
    const rows = [
      scalingRow(1, 1, 2e6, 1),
      scalingRow(2, 4, 1.8e6, 1),
      scalingRow(1, 1, 2.2e6, 2),
      scalingRow(2, 4, 2.2e6, 2),
      scalingRow(1, 1, 2e6, 3),
    ];
    expect(scalingRoundPairs(rows)).toEqual([
      [2e6, 1.8e6],
      [2.2e6, 2.2e6],
    ]);
  });

  it('is judged on the median of the rounds’ ratios, not on one lucky round', () => {
    const rounds = roundsOf([
      [2e6, 1.8e6],
      [2e6, 2.2e6],
      [2e6, 1.9e6],
    ]);
    const verdict = scalingVerdicts(rounds).find((entry) => entry.target === ROUNDS_TARGET);
    expect(verdict?.status).toBe('FAIL');
    expect(verdict?.measured).toMatch(/^0\.95×/);
  });

  it('passes when the median round gives 4 × 2 at least the 1 × 1 figure', () => {
    const rounds = roundsOf([
      [2e6, 2e6],
      [2e6, 1.5e6],
      [2e6, 2.4e6],
    ]);
    expect(scalingVerdicts(rounds).find((entry) => entry.target === ROUNDS_TARGET)?.status).toBe('PASS');
  });

  it('keeps the single-window verdict, and adds no rounds verdict when no rounds ran', () => {
    const verdicts = scalingVerdicts([]).filter((verdict) => verdict.target.includes('against 1 worker'));
    expect(verdicts.map((verdict) => verdict.status)).toEqual(['PASS']);
  });
});

describe('the #16 scaling target against one client on the same two workers', () => {
  const TARGET =
    '[#16] 4 client processes x64 against 2 workers: ≥ 1 client against the same 2 workers (adding callers never collapses throughput)';
  const judge = (oneOnTwo: number, fourOnTwo: number) =>
    judgeRoundTwoTargets([], [], [], [scalingRow(2, 1, oneOnTwo), scalingRow(2, 4, fourOnTwo)]).find(
      (verdict) => verdict.target === TARGET,
    );

  it('fails when four clients get less in total than one client on the same workers', () => {
    expect(judge(1.8e6, 1.5e6)).toMatchObject({ status: 'FAIL', measured: '1.50 M / 1.80 M calls/s = 0.83×' });
  });

  it('passes when four clients get at least what one client gets', () => {
    expect(judge(1.66e6, 1.81e6)?.status).toBe('PASS');
  });

  it('is not judged when the table has no row of one client on two workers', () => {
    expect(judgeRoundTwoTargets([], [], [], [scalingRow(2, 4, 2e6)]).find((v) => v.target === TARGET)?.status).toBe(
      'n/a',
    );
  });
});
