/**
 * The pipelined rows with every process on one CPU (job 'one-cpu'): the
 * strategy pair's rounds again, in a runner pinned to CPU 0 with taskset, so
 * that its client, supervisor and worker (which inherit the affinity) share
 * that CPU, as in a one-CPU container. On two CPUs a side that spins while
 * it cannot progress only wastes its own CPU; on one it holds the CPU its
 * peer needs. A worker that spun on a full response ring made 64 KiB pipelined
 * calls collapse here from tens of thousands to ~500 a second
 * (docs/benchmarks-history.md, twenty-fifth session): these rows and their
 * verdicts keep that in sight.
 */
import { median } from '../stress/stats.js';
import { formatBytes, formatRate, formatRatio, markdownTable, type TargetVerdict, verdictList } from './report.js';
import type { StrategyPairPlan, StrategyPairResult } from './strategy-pair.js';
import type { RunPlan, TransportResult } from './types.js';

/** The CPU the runner is pinned to. */
export const ONE_CPU = 0;

export const ONE_CPU_PLAN: StrategyPairPlan = {
  sizes: [16, 64 * 1024],
  inFlight: 64,
  rounds: 4,
  roundMs: 250,
  warmupMs: 100,
  forkSizes: [],
  emptySizes: [],
  concurrencySizes: [],
};
/** --quick: one short round, correctness only. */
export const ONE_CPU_QUICK_PLAN: StrategyPairPlan = { ...ONE_CPU_PLAN, rounds: 1, roundMs: 50, warmupMs: 0 };

/**
 * The supervisor's own calls on one CPU: the 'phoenix-supervisor-adaptive'
 * transport job again, pinned, its pipelined rows only worth reading (its
 * spin never yielded, and held the CPU its worker needed: 58 k calls/s at
 * 16 B against 1.4 M on two CPUs, before it yielded where it has one CPU).
 */
export function oneCpuSupervisorPlan(quick: boolean): RunPlan {
  const rows = { sizes: ONE_CPU_PLAN.sizes, inFlight: ONE_CPU_PLAN.inFlight, idleMs: 0 };
  return quick
    ? {
        ...rows,
        latency: { warmupCalls: 20, warmupMs: 0, maxCalls: 100, maxMs: 10_000 },
        throughput: { warmupCalls: 64, warmupMs: 0, maxCalls: 300, maxMs: 10_000 },
      }
    : {
        ...rows,
        latency: { warmupCalls: 100, warmupMs: 0, maxCalls: 5000, maxMs: 300 },
        throughput: { warmupCalls: 200, warmupMs: 200, maxCalls: 10_000_000, maxMs: 1000 },
      };
}

/**
 * A pipelined row on one CPU may be this much slower than on two and still
 * not be a collapse: one CPU does the work of two, and the run's two halves
 * may fall in different periods of a VM (measured: 0.3-0.7 of the two-CPU
 * figure). The collapses it guards against were 0.04 and below.
 */
export const MIN_ONE_CPU_SHARE = 0.15;

function twoCpuMedian(twoCpus: StrategyPairResult | null, bytes: number): number | undefined {
  const row = twoCpus?.rows.find((candidate) => candidate.payloadBytes === bytes);
  return row === undefined ? undefined : median(row.adaptive);
}

/** Per size: the medians on one CPU, and the adaptive median of the same run's two-CPU strategy pair. */
export function oneCpuTable(oneCpu: StrategyPairResult, twoCpus: StrategyPairResult | null): string {
  return markdownTable(
    ['payload', 'adaptive calls/s', 'block calls/s', 'adaptive ÷ block', 'adaptive on 2 CPUs', '1 CPU ÷ 2 CPUs'],
    oneCpu.rows.map((row) => {
      const adaptive = median(row.adaptive);
      const block = median(row.block);
      const two = twoCpuMedian(twoCpus, row.payloadBytes);
      return [
        formatBytes(row.payloadBytes),
        formatRate(adaptive),
        formatRate(block),
        formatRatio(adaptive / block),
        two === undefined ? '–' : formatRate(two),
        two === undefined ? '–' : formatRatio(adaptive / two),
      ];
    }),
    (column) => column > 0,
  );
}

/** Adaptive never below block on one CPU either, and no row collapses against two CPUs. */
export function judgeOneCpu(oneCpu: StrategyPairResult | null, twoCpus: StrategyPairResult | null): TargetVerdict[] {
  const { verdicts, add } = verdictList();
  if (oneCpu === null) return verdicts; // not selected, or no taskset: the job's own line says so
  for (const bytes of ONE_CPU_PLAN.sizes) {
    const row = oneCpu.rows.find((candidate) => candidate.payloadBytes === bytes);
    const adaptive = row === undefined ? undefined : median(row.adaptive);
    const rounds = `medians of ${oneCpu.rounds} alternating rounds`;
    add(
      `pipelined ${formatBytes(bytes)} x64 on one CPU: adaptive never below block`,
      [adaptive, row === undefined ? undefined : median(row.block)],
      (ours, block) => [
        ours >= block,
        `adaptive ${formatRate(ours)} / block ${formatRate(block)} = ${formatRatio(ours / block)} (${rounds})`,
      ],
    );
    add(
      `pipelined ${formatBytes(bytes)} x64 on one CPU, adaptive: no collapse (at least ${MIN_ONE_CPU_SHARE}× the two-CPU figure)`,
      [adaptive, twoCpuMedian(twoCpus, bytes)],
      (ours, two) => [
        ours >= MIN_ONE_CPU_SHARE * two,
        `${formatRate(ours)} / ${formatRate(two)} = ${formatRatio(ours / two)}`,
      ],
    );
  }
  return verdicts;
}

function pipelinedRate(result: TransportResult | undefined, bytes: number): number | undefined {
  return result?.sizes.find((size) => size.payloadBytes === bytes)?.throughput.msgsPerSec;
}

/** The supervisor's pipelined rows on one CPU next to its two-CPU transport job's. */
export function oneCpuSupervisorTable(oneCpu: TransportResult, twoCpus: TransportResult | undefined): string {
  return markdownTable(
    ['payload', 'supervisor→worker calls/s', 'on 2 CPUs', '1 CPU ÷ 2 CPUs'],
    ONE_CPU_PLAN.sizes.map((bytes) => {
      const one = pipelinedRate(oneCpu, bytes) ?? Number.NaN;
      const two = pipelinedRate(twoCpus, bytes);
      return [
        formatBytes(bytes),
        formatRate(one),
        two === undefined ? '–' : formatRate(two),
        two === undefined ? '–' : formatRatio(one / two),
      ];
    }),
    (column) => column > 0,
  );
}

/** The supervisor's own pipelined calls do not collapse on one CPU either. */
export function judgeOneCpuSupervisor(
  oneCpu: TransportResult | null,
  twoCpus: TransportResult | undefined,
): TargetVerdict[] {
  const { verdicts, add } = verdictList();
  if (oneCpu === null) return verdicts;
  for (const bytes of ONE_CPU_PLAN.sizes) {
    add(
      `pipelined ${formatBytes(bytes)} x64 on one CPU, the supervisor's own calls: no collapse (at least ${MIN_ONE_CPU_SHARE}× the two-CPU figure)`,
      [pipelinedRate(oneCpu, bytes), pipelinedRate(twoCpus, bytes)],
      (ours, two) => [
        ours >= MIN_ONE_CPU_SHARE * two,
        `${formatRate(ours)} / ${formatRate(two)} = ${formatRatio(ours / two)}`,
      ],
    );
  }
  return verdicts;
}
