import { describe, expect, it } from 'vitest';
import type { ScalingResult } from '../src/bench/jobs.js';
import { judgeScaling, scalingRoundPairs, scalingTable } from '../src/bench/scaling-report.js';

function scalingRow(
  workers: number,
  callers: number,
  msgsPerSec: number,
  round?: number,
  cpu: { clientCpuUs: number; workerCpuUs: number } = { clientCpuUs: 0.5, workerCpuUs: 0.5 },
): ScalingResult {
  return {
    workers,
    callers,
    payloadBytes: 16,
    inFlight: 64,
    msgsPerSec,
    perCaller: [],
    processedPerWorker: [],
    ...cpu,
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
  return judgeScaling(table, rounds);
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
    judgeScaling([scalingRow(2, 1, oneOnTwo), scalingRow(2, 4, fourOnTwo)]).find(
      (verdict) => verdict.target === TARGET,
    );

  it('fails when four clients get less in total than one client on the same workers', () => {
    expect(judge(1.8e6, 1.5e6)).toMatchObject({ status: 'FAIL', measured: '1.50 M / 1.80 M calls/s = 0.83×' });
  });

  it('passes when four clients get at least what one client gets', () => {
    expect(judge(1.66e6, 1.81e6)?.status).toBe('PASS');
  });

  it('is not judged when the table has no row of one client on two workers', () => {
    expect(judgeScaling([scalingRow(2, 4, 2e6)]).find((v) => v.target === TARGET)?.status).toBe('n/a');
  });
});

describe('where the time of a scaling row goes', () => {
  const SINGLE_TARGET = '[#16] 4 client processes x64 against 2 workers: ≥ 1 client against 1 worker, in total';

  it('prints each row’s CPU per call, the clients’ and the workers’ apart', () => {
    const table = scalingTable([
      scalingRow(1, 1, 1.4e6, undefined, { clientCpuUs: 0.674, workerCpuUs: 0.641 }),
      scalingRow(2, 4, 1.34e6, undefined, { clientCpuUs: 0.94, workerCpuUs: 0.535 }),
    ]);
    expect(table).toContain('CPU per call: clients + workers');
    expect(table).toContain('0.67 + 0.64 µs');
    expect(table).toContain('0.94 + 0.54 µs');
  });

  it('names both sides’ CPU per call in the single-window verdict, 4 × 2 against 1 × 1', () => {
    const verdict = judgeScaling([
      scalingRow(1, 1, 1.4e6, undefined, { clientCpuUs: 0.674, workerCpuUs: 0.641 }),
      scalingRow(2, 4, 1.34e6, undefined, { clientCpuUs: 0.94, workerCpuUs: 0.535 }),
    ]).find((entry) => entry.target === SINGLE_TARGET);
    expect(verdict?.measured).toBe(
      '1.34 M / 1.40 M calls/s = 0.96×; CPU per call clients 0.94 + workers 0.54 µs against clients 0.67 + workers 0.64 µs',
    );
  });

  it('gives the rounds verdict the median CPU per call of each shape', () => {
    const rounds = [1, 2, 3].flatMap((round) => [
      scalingRow(1, 1, 2e6, round, { clientCpuUs: 0.6 + round / 10, workerCpuUs: 0.6 }),
      scalingRow(2, 4, 2e6, round, { clientCpuUs: 0.9, workerCpuUs: 0.4 + round / 10 }),
    ]);
    const verdict = judgeScaling([], rounds).find((entry) => entry.target === ROUNDS_TARGET);
    expect(verdict?.measured).toMatch(
      /; CPU per call, medians: 4 × 2 clients 0\.90 \+ workers 0\.60 µs, 1 × 1 clients 0\.80 \+ workers 0\.60 µs$/,
    );
  });
});
