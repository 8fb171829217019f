/**
 * The scaling job's table and its #16 verdicts: M client processes x64
 * against W workers, and 4 x 2 against 1 x 1 in alternating rounds.
 *
 * Each row carries its CPU per call, the clients' and the workers' apart, so
 * that a run which loses throughput to more callers also says on which side
 * the time went (on 2 CPUs, 4 x 2 time-shares seven processes: the clients
 * pay for it, docs/benchmarks-history.md "twenty-second session").
 */
import { median } from '../stress/stats.js';
import type { ScalingResult } from './jobs.js';
import { formatRate, formatRatio, formatUs, markdownTable, type TargetVerdict, verdictList } from './report.js';

/** "clients 0.66 + workers 0.64 µs": CPU per call of one scaling row, both sides. */
export function cpuPerCall(row: Pick<ScalingResult, 'clientCpuUs' | 'workerCpuUs'>): string {
  return `clients ${formatUs(row.clientCpuUs)} + workers ${formatUs(row.workerCpuUs)} µs`;
}

export function scalingTable(rows: readonly ScalingResult[]): string {
  const base = rows[0]?.msgsPerSec ?? Number.NaN;
  return markdownTable(
    [
      'workers',
      'client processes',
      'calls/s (sum)',
      '× 1 worker',
      'per client calls/s',
      'CPU per call: clients + workers',
      'calls served per worker',
    ],
    rows.map((row) => [
      String(row.workers),
      String(row.callers),
      formatRate(row.msgsPerSec),
      formatRatio(row.msgsPerSec / base),
      row.perCaller.map((caller) => formatRate(caller.msgsPerSec)).join(', '),
      `${formatUs(row.clientCpuUs)} + ${formatUs(row.workerCpuUs)} µs`,
      row.processedPerWorker.map((count) => count.toLocaleString('en-US')).join(', '),
    ]),
    () => true,
  );
}

/** [1 × 1, 4 × 2] rows of each round that measured both. */
export function scalingRoundRows(rows: readonly ScalingResult[]): [ScalingResult, ScalingResult][] {
  const pairs: [ScalingResult, ScalingResult][] = [];
  const rounds = [...new Set(rows.map((row) => row.round))].filter((round) => round !== undefined);
  for (const round of rounds) {
    const of = (workers: number, callers: number) =>
      rows.find((row) => row.round === round && row.workers === workers && row.callers === callers);
    const one = of(1, 1);
    const many = of(2, 4);
    if (one !== undefined && many !== undefined) pairs.push([one, many]);
  }
  return pairs;
}

/** [1 × 1, 4 × 2] calls/s of each round that measured both. */
export function scalingRoundPairs(rows: readonly ScalingResult[]): [number, number][] {
  return scalingRoundRows(rows).map(([one, many]) => [one.msgsPerSec, many.msgsPerSec]);
}

/** The #16 targets for several clients: one window each, then the median of the alternating rounds. */
export function judgeScaling(
  scaling: readonly ScalingResult[],
  scalingRounds: readonly ScalingResult[] = [],
): TargetVerdict[] {
  const { verdicts, add } = verdictList();
  const single = scaling.find((row) => row.workers === 1 && row.callers === 1);
  const many = scaling.find((row) => row.workers === 2 && row.callers === 4);
  add(
    '[#16] 4 client processes x64 against 2 workers: ≥ 1 client against 1 worker, in total',
    [many?.msgsPerSec, single?.msgsPerSec],
    (total, one) => [
      total >= one,
      `${formatRate(total)} / ${formatRate(one)} calls/s = ${formatRatio(total / one)}; CPU per call ${cpuPerCall(many!)} against ${cpuPerCall(single!)}`,
    ],
    ['scaling-1x1', 'scaling-2x4'],
  );
  // The issue's other reading of "the single-client figure": the same two workers behind one client.
  // "Adding callers must never collapse throughput" is this comparison; the strict one above stays.
  const oneOnTwo = scaling.find((row) => row.workers === 2 && row.callers === 1);
  add(
    '[#16] 4 client processes x64 against 2 workers: ≥ 1 client against the same 2 workers (adding callers never collapses throughput)',
    [many?.msgsPerSec, oneOnTwo?.msgsPerSec],
    (total, one) => [total >= one, `${formatRate(total)} / ${formatRate(one)} calls/s = ${formatRatio(total / one)}`],
    ['scaling-2x1', 'scaling-2x4'],
  );
  // The same, in rounds taking turns: each round's ratio pairs two windows taken one after the other.
  const rows = scalingRoundRows(scalingRounds);
  if (rows.length > 0) {
    const ratios = rows.map(([one, many]) => many.msgsPerSec / one.msgsPerSec);
    const medianCpu = (side: 0 | 1) => ({
      clientCpuUs: median(rows.map((pair) => pair[side].clientCpuUs)),
      workerCpuUs: median(rows.map((pair) => pair[side].workerCpuUs)),
    });
    add(
      `[#16] 4 client processes x64 against 2 workers: ≥ 1 client against 1 worker, median of ${rows.length} alternating rounds`,
      [median(ratios)],
      (ratio) => [
        ratio >= 1,
        `${formatRatio(ratio)} (rounds ${rows.map(([one, many]) => `${formatRate(many.msgsPerSec)} / ${formatRate(one.msgsPerSec)} = ${formatRatio(many.msgsPerSec / one.msgsPerSec)}`).join(', ')}); CPU per call, medians: 4 × 2 ${cpuPerCall(medianCpu(1))}, 1 × 1 ${cpuPerCall(medianCpu(0))}`,
      ],
    );
  }
  return verdicts;
}
