/**
 * Calls that carry nothing (job 'strategy-pair'): the adaptive client with
 * empty payloads, echoed as empty replies, takes its turn in the 16 B row's
 * rounds. A handler that returns nothing is common, and such a call has less
 * to copy than any other; it must not cost more. Until the thirty-ninth
 * session each empty reply was a fresh ArrayBuffer (`Buffer.allocUnsafe(0)`),
 * and these calls ran at 0.73× of 16-byte ones (docs/benchmarks-history.md).
 */
import { median } from '../stress/stats.js';
import { formatRate, formatRatio, type TargetVerdict, verdictList } from './report.js';
import type { StrategyPairResult } from './strategy-pair.js';

/** Empty calls against 16-byte ones, per round: at least this share (the rounds' noise is a few percent). */
export const MIN_EMPTY_SHARE = 0.95;

export function judgeEmptyPayloads(strategyPair: StrategyPairResult | null): TargetVerdict[] {
  const { verdicts, add } = verdictList();
  const row = strategyPair?.rows.find((candidate) => candidate.payloadBytes === 16);
  if (row === undefined || row.adaptiveEmpty.length === 0) return verdicts;
  // Each round's ratio pairs two windows taken one after the other; the verdict is their median.
  const ratios = row.adaptiveEmpty.map((empty, round) => empty / row.adaptive[round]!);
  add(
    `pipelined x64, adaptive (callAsync): empty payloads and replies at least ${MIN_EMPTY_SHARE}× the 16 B rate, median of ${strategyPair!.rounds} alternating rounds`,
    [median(ratios)],
    (ratio) => [
      ratio >= MIN_EMPTY_SHARE,
      `${formatRatio(ratio)} (rounds ${ratios.map(formatRatio).join(', ')}; empty ${row.adaptiveEmpty.map(formatRate).join(', ')})`,
    ],
    ['strategy-pair'],
  );
  return verdicts;
}
