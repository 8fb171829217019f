/** Issue 16's round-trip targets judged from the alternating rounds of latency-pair.ts. */
import { median } from '../stress/stats.js';
import type { LatencyPairResult } from './latency-pair.js';
import { formatRatio, formatUs, type TargetVerdict, verdictList } from './report.js';

const LIMIT = 1.5;

/** Each round's ratio of a to b, in order (rounds where either is missing are left out). */
function roundRatios(a: readonly number[], b: readonly number[]): number[] {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) ratios.push(a[i]! / b[i]!);
  return ratios;
}

function list(ratios: readonly number[]): string {
  return ratios.map(formatRatio).join(', ');
}

/**
 * The median of the rounds' ratios, not the ratio of medians: each round
 * pairs two windows taken one after the other, in the same period of the VM.
 */
export function judgeLatencyPair(pair: LatencyPairResult | null): TargetVerdict[] {
  const { verdicts, add } = verdictList();
  const rounds = pair?.rounds ?? 0;
  const small = pair === null ? [] : roundRatios(pair.phoenix16.p50Us, pair.rawJs16.p50Us);
  add(
    `[#16] 16 B round trip, adaptive: p50 within 1.5× of the raw JS spin rings, median of ${rounds} alternating rounds`,
    [small.length === 0 ? undefined : median(small)],
    (ratio) => [
      ratio <= LIMIT,
      `${formatRatio(ratio)} (rounds ${list(small)}; PhoenixIPC ${pair!.phoenix16.p50Us.map(formatUs).join(', ')} µs, raw JS spin ${pair!.rawJs16.p50Us.map(formatUs).join(', ')} µs)`,
    ],
    ['latency-pair'],
  );
  const bigP50 = pair === null ? [] : roundRatios(pair.phoenixBig.p50Us, pair.cBig.p50Us);
  const bigMean = pair === null ? [] : roundRatios(pair.phoenixBig.meanUs, pair.cBig.meanUs);
  add(
    `[#16] 64 KiB round trip, adaptive, call: p50 and mean within 1.5× of the C busy-spin, median of ${rounds} alternating rounds`,
    bigP50.length === 0 ? [undefined] : [median(bigP50), median(bigMean)],
    (p50, mean) => [
      p50 <= LIMIT && mean <= LIMIT,
      `p50 ${formatRatio(p50)} (rounds ${list(bigP50)}), mean ${formatRatio(mean)} (rounds ${list(bigMean)})`,
    ],
    ['latency-pair'],
  );
  return verdicts;
}
