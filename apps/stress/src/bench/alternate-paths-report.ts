/**
 * Paths beside the plain call that must not fall far behind it (job
 * 'strategy-pair'), judged in the 16 B row's alternating rounds, each round's
 * window against the plain adaptive window of the same round:
 *
 *  - Empty payloads, echoed as empty replies. A handler that returns nothing
 *    is common, and such a call has less to copy than any other. Until the
 *    thirty-ninth session each empty reply was a fresh ArrayBuffer
 *    (`Buffer.allocUnsafe(0)`): 0.73× of 16-byte calls.
 *  - A worker with concurrency 2, whose replies are copied from each lane's
 *    scratch into the ring rather than written in place. Until the same
 *    session each copy built its record apart first (a fresh ArrayBuffer and
 *    three views per reply): 0.2–0.5× of concurrency 1.
 *
 * docs/benchmarks-history.md, thirty-ninth session.
 */
import { median } from '../stress/stats.js';
import { formatRate, formatRatio, type TargetVerdict, verdictList } from './report.js';
import type { StrategyPairResult, StrategyPairRow } from './strategy-pair.js';

/** Empty calls against 16-byte ones, per round: at least this share (the rounds' noise is a few percent). */
export const MIN_EMPTY_SHARE = 0.95;
/** Concurrency 2 against 1: at least this share (a copy of each reply is allowed for). */
export const MIN_CONCURRENT_SHARE = 0.8;

export function judgeAlternatePaths(strategyPair: StrategyPairResult | null): TargetVerdict[] {
  const { verdicts, add } = verdictList();
  const row = strategyPair?.rows.find((candidate) => candidate.payloadBytes === 16);
  if (strategyPair === null || row === undefined) return verdicts;
  const judge = (what: string, rounds: number[], share: number) => {
    if (rounds.length === 0) return;
    const ratios = perRound(row, rounds);
    add(
      `pipelined 16 B x64, adaptive (callAsync): ${what} at least ${share}× the plain call, median of ${strategyPair.rounds} alternating rounds`,
      [median(ratios)],
      (ratio) => [
        ratio >= share,
        `${formatRatio(ratio)} (rounds ${ratios.map(formatRatio).join(', ')}; ${rounds.map(formatRate).join(', ')})`,
      ],
      ['strategy-pair'],
    );
  };
  judge('empty payloads and replies', row.adaptiveEmpty, MIN_EMPTY_SHARE);
  judge('a worker with concurrency 2 (replies copied)', row.adaptiveConcurrent, MIN_CONCURRENT_SHARE);
  return verdicts;
}

// Each round's ratio pairs two windows taken one after the other; the verdict is their median.
function perRound(row: StrategyPairRow, rounds: number[]): number[] {
  return rounds.map((rate, round) => rate / row.adaptive[round]!);
}
