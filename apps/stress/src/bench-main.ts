// Over 400 lines on purpose: the orchestrator's one job list, in the order the
// jobs run and their lines print (transports, million, service, NATS pair,
// strategy pair, one CPU, latency pair, live heap, scaling, then the verdicts);
// what each job measures and how it is judged lives in bench/.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { judgeAlternatePaths } from './bench/alternate-paths-report.js';
import { TRANSPORTS } from './bench/catalogue.js';
import { installCleanup, trackDirectory, unlinkSegments } from './bench/cleanup.js';
import type { Job, LiveHeapResult, MillionResult, ScalingResult } from './bench/jobs.js';
import type { LatencyPairResult } from './bench/latency-pair.js';
import { judgeLatencyPair } from './bench/latency-pair-report.js';
import { layoutFacts, machineFacts } from './bench/machine-facts.js';
import { annotateSettings, prepareMachineProbe, summarizeSettings } from './bench/machine-probe.js';
import { BIG_REPLY_BYTES } from './bench/measure.js';
import { compilePingPong } from './bench/native.js';
import type { NatsPairResult } from './bench/nats-pair.js';
import {
  judgeOneCpu,
  judgeOneCpuSupervisor,
  ONE_CPU,
  ONE_CPU_PLAN,
  ONE_CPU_QUICK_PLAN,
  oneCpuSupervisorPlan,
  oneCpuSupervisorTable,
  oneCpuTable,
} from './bench/one-cpu.js';
import { type BenchOptions, jsonFileProblem, parseOptions, selected, USAGE } from './bench/options.js';
import { DIST_ENV } from './bench/paths.js';
import {
  IN_FLIGHT,
  LATENCY_PAIR_PLAN,
  LATENCY_PAIR_QUICK_PLAN,
  LIVE_HEAP_MB,
  LIVE_HEAP_PAIR_PLAN,
  LIVE_HEAP_PAIR_QUICK_PLAN,
  MILLION,
  NATS_PAIR_PLAN,
  NATS_PAIR_QUICK_PLAN,
  plans,
  SCALING_ROUNDS,
  SIZES,
  STRATEGY_PAIR_PLAN,
  STRATEGY_PAIR_QUICK_PLAN,
  servicePlan,
} from './bench/plans.js';
import { printSections } from './bench/printout.js';
import { foreignLoad } from './bench/proc.js';
import {
  formatBytes,
  formatRate,
  formatUs,
  judgeRoundTwoTargets,
  judgeTargets,
  type TargetVerdict,
  targetLines,
} from './bench/report.js';
import { log, nextSegment, type RunRecord, runJob, tasksetPath } from './bench/run-job.js';
import { judgeScaling } from './bench/scaling-report.js';
import type { ServiceBenchResult } from './bench/service-bench.js';
import { judgeServiceTargets } from './bench/service-report.js';
import type { StrategyPairResult } from './bench/strategy-pair.js';
import type { TransportResult } from './bench/types.js';
import { median } from './stress/stats.js';

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (options.help) {
    log(USAGE);
    return 0;
  }
  const jsonProblem = options.json === null ? null : jsonFileProblem(options.json);
  if (jsonProblem !== null) {
    process.stderr.write(`${jsonProblem}\n`);
    return 2;
  }
  const started = performance.now();
  const dist = dirname(fileURLToPath(import.meta.url));
  process.env[DIST_ENV] = dist;
  installCleanup();
  const stale = unlinkSegments(true);

  const machine = machineFacts();
  log(
    `phoenix-bench ${options.quick ? '--quick (correctness smoke: few calls, figures are not meaningful)' : '(full run)'}`,
  );
  log(
    `machine: ${machine.nproc} CPUs, ${machine.cpu}, Linux ${machine.kernel}, Node ${machine.node}, ${machine.date}, load average ${machine.loadavg}`,
  );
  log(`measuring: ${machine.revision}`);
  if (stale.length > 0) log(`removed stale segments of dead benchmark runs: ${stale.join(', ')}`);
  const layout = layoutFacts();
  for (const line of layout.lines) log(line);
  const before = foreignLoad();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const busyBefore = before.stop();
  log(
    `other processes used ${busyBefore.toFixed(0)}% of the machine in the second before the run${busyBefore > 5 ? ' — expect noisy figures' : ''}`,
  );
  log();

  const { plan, jobTimeoutMs } = plans(options);
  const workDir = mkdtempSync(join(tmpdir(), 'phoenix-bench-'));
  trackDirectory(workDir);
  const probe = await prepareMachineProbe(
    fileURLToPath(new URL('../bench-native/machine-probe.c', import.meta.url)),
    workDir,
  );
  log(
    probe.binary === null
      ? `no machine probe: ${probe.reason}`
      : "each job line ends with the machine's setting before/after the job: the cache line's round trip between the first two CPUs, and the slower CPU's time for a fixed loop with both busy",
  );
  const record: RunRecord = { errors: [], noise: {}, probe: probe.binary, settings: {} };
  const { errors, noise } = record;
  const results: TransportResult[] = [];
  /** The supervisor's own calls on two CPUs (its transport job), which its one-CPU rows are set against. */
  const supervisorTwoCpus = () => results.find((result) => result.id === 'phoenix-supervisor-adaptive');

  const transports = TRANSPORTS.filter((spec) => selected(options, spec.id, spec.label));
  let nativeBinary = '';
  let compiler = '';
  const latencyPairLabel =
    'PhoenixIPC 16 B and 64 KiB round trips against the raw JS and C spin limits, alternating rounds';
  const latencyPairSelected = selected(options, 'latency-pair', latencyPairLabel);
  if (transports.some((spec) => spec.id.startsWith('c-')) || latencyPairSelected) {
    const source = fileURLToPath(new URL('../bench-native/pingpong.c', import.meta.url));
    try {
      ({ binary: nativeBinary, compiler } = await compilePingPong(source, workDir));
      log(`compiled ${source} with ${compiler}`);
    } catch (error) {
      errors.push(`C limit: ${(error as Error).message}`);
      log(`FAILED to compile the C limit: ${(error as Error).message}`);
    }
  }

  for (const spec of transports) {
    if (spec.id.startsWith('c-') && nativeBinary === '') continue;
    const job: Job = {
      kind: 'transport',
      transport: spec.id,
      plan: plan(spec.spins, spec.id),
      segment: nextSegment(),
      nativeBinary,
      workDir,
    };
    const measured = await runJob(record, spec.id, spec.id, job, 'transport', jobTimeoutMs, (result) => {
      const sizes = result.sizes
        .map(
          (size) =>
            `${formatBytes(size.payloadBytes)} p50 ${formatUs(size.latency.p50Us)} µs, ${formatRate(size.throughput.msgsPerSec)}/s`,
        )
        .join('; ');
      const idle = result.idle === null ? '' : `; idle ${result.idle.percentOfCore.toFixed(2)}%`;
      return `${result.verified.toLocaleString('en-US')} replies verified — ${sizes}${idle}`;
    });
    // The catalogue names the rows (one source for labels and filters).
    if (measured !== null) results.push({ ...measured, label: spec.label, kind: spec.kind });
  }

  // Both call APIs, each in a fresh runner: sendInto (handlers) is the one with no garbage per call.
  const millions: MillionResult[] = [];
  for (const api of ['sendInto', 'callAsync'] as const) {
    if (
      !(
        (!options.quick || options.million) &&
        selected(options, 'million', `PhoenixIPC one million calls (${api}), GC, heap and RSS`)
      )
    )
      continue;
    const million = await runJob(
      record,
      `million ${api}`,
      `million-${api}`,
      { kind: 'million', segment: nextSegment(), calls: MILLION, payloadBytes: 16, inFlight: IN_FLIGHT, api },
      'million',
      jobTimeoutMs,
      (result) => `${result.verified.toLocaleString('en-US')} replies verified`,
      ['--expose-gc'],
    );
    if (million !== null) millions.push(million);
  }

  let service: ServiceBenchResult | null = null;
  if (selected(options, 'service', 'PhoenixIPC typed service (@phoenix-ipc/service) against raw calls, codecs')) {
    service = await runJob(
      record,
      'service',
      'service',
      { kind: 'service', segment: nextSegment(), plan: servicePlan(options) },
      'service',
      jobTimeoutMs,
      (result) =>
        `${result.workloads.reduce((sum, workload) => sum + workload.verified, 0).toLocaleString('en-US')} replies verified`,
    );
  }

  let natsPair: NatsPairResult | null = null;
  if (selected(options, 'nats-pair', 'NATS echo and bridge p50 side by side, alternating rounds')) {
    natsPair = await runJob(
      record,
      'nats-pair',
      'nats-pair',
      { kind: 'nats-pair', segment: nextSegment(), plan: options.quick ? NATS_PAIR_QUICK_PLAN : NATS_PAIR_PLAN },
      'nats-pair',
      jobTimeoutMs,
      (result) =>
        `${result.calls.toLocaleString('en-US')} replies verified — p50 bridge ${formatUs(result.bridge.p50Us)} µs, echo ${formatUs(result.echo.p50Us)} µs`,
    );
  }

  let strategyPair: StrategyPairResult | null = null;
  if (
    selected(
      options,
      'strategy-pair',
      'PhoenixIPC adaptive and block pipelined side by side, alternating rounds (at 16 B with sendInto and fork IPC json)',
    )
  ) {
    strategyPair = await runJob(
      record,
      'strategy-pair',
      'strategy-pair',
      {
        kind: 'strategy-pair',
        segment: nextSegment(),
        plan: options.quick ? STRATEGY_PAIR_QUICK_PLAN : STRATEGY_PAIR_PLAN,
      },
      'strategy-pair',
      jobTimeoutMs,
      strategyPairSummary,
    );
  }

  let oneCpu: StrategyPairResult | null = null;
  let oneCpuSupervisor: TransportResult | null = null;
  if (selected(options, 'one-cpu', 'PhoenixIPC adaptive and block pipelined with every process on one CPU (taskset)')) {
    if (tasksetPath() === null) log('skip  one-cpu                      taskset (util-linux) is not installed');
    else {
      oneCpu = await runJob(
        record,
        'one-cpu',
        'one-cpu',
        { kind: 'strategy-pair', segment: nextSegment(), plan: options.quick ? ONE_CPU_QUICK_PLAN : ONE_CPU_PLAN },
        'strategy-pair',
        jobTimeoutMs,
        strategyPairSummary,
        [],
        ONE_CPU,
      );
      oneCpuSupervisor = await runJob(
        record,
        'one-cpu supervisor',
        'one-cpu-supervisor',
        {
          kind: 'transport',
          transport: 'phoenix-supervisor-adaptive',
          plan: oneCpuSupervisorPlan(options.quick),
          segment: nextSegment(),
          nativeBinary,
          workDir,
        },
        'transport',
        jobTimeoutMs,
        (result) =>
          `${result.verified.toLocaleString('en-US')} replies verified — ${result.sizes.map((size) => `${formatBytes(size.payloadBytes)} ${formatRate(size.throughput.msgsPerSec)}/s`).join('; ')}`,
        [],
        ONE_CPU,
      );
    }
  }

  let latencyPair: LatencyPairResult | null = null;
  if (latencyPairSelected) {
    latencyPair = await runJob(
      record,
      'latency-pair',
      'latency-pair',
      {
        kind: 'latency-pair',
        segment: nextSegment(),
        nativeBinary,
        workDir,
        plan: options.quick ? LATENCY_PAIR_QUICK_PLAN : LATENCY_PAIR_PLAN,
      },
      'latency-pair',
      jobTimeoutMs,
      (result) => {
        const p50 = (series: { p50Us: number[] }) => formatUs(median(series.p50Us));
        const c = result.cBig.p50Us.length > 0 ? `, C spin ${p50(result.cBig)} µs` : '';
        return `${result.verified.toLocaleString('en-US')} replies verified — median p50s: 16 B PhoenixIPC ${p50(result.phoenix16)} µs, raw JS spin ${p50(result.rawJs16)} µs; 64 KiB PhoenixIPC ${p50(result.phoenixBig)} µs${c}`;
      },
    );
  }

  const liveHeap: LiveHeapResult[] = [];
  if (selected(options, 'live-heap', 'PhoenixIPC pipelined rows in a client with a live heap')) {
    for (const strategy of ['adaptive', 'block'] as const) {
      const heap = await runJob(
        record,
        `live-heap ${strategy}`,
        `live-heap-${strategy}`,
        {
          kind: 'live-heap',
          segment: nextSegment(),
          strategy,
          sequential: options.quick
            ? { warmupCalls: 0, warmupMs: 0, maxCalls: 200, maxMs: 10_000 }
            : { warmupCalls: 0, warmupMs: 0, maxCalls: Number.MAX_SAFE_INTEGER, maxMs: 1200 },
          liveHeapMb: options.quick ? 8 : LIVE_HEAP_MB,
          sizes: SIZES,
          inFlight: IN_FLIGHT,
          throughput: options.quick
            ? { warmupCalls: 64, warmupMs: 0, maxCalls: 300, maxMs: 10_000 }
            : // 3 s, not 1 s: a steady state of GC with a big heap shows only after a second or two
              // (waiting calls' payload copies brought a full GC every ~850 calls; 1 s windows did not see it).
              { warmupCalls: 200, warmupMs: 200, maxCalls: 10_000_000, maxMs: 3000 },
          bigReplyBytes: BIG_REPLY_BYTES,
          bigReply: options.quick
            ? { warmupCalls: 10, warmupMs: 0, maxCalls: 100, maxMs: 10_000 }
            : { warmupCalls: 200, warmupMs: 500, maxCalls: 200_000, maxMs: 2000 },
        },
        'live-heap',
        jobTimeoutMs,
        (result) =>
          `${result.verified.toLocaleString('en-US')} replies verified — ${result.rows.map((row) => `${formatBytes(row.payloadBytes)} ${formatRate(row.throughput.msgsPerSec)}/s`).join('; ')}`,
        ['--expose-gc'],
      );
      if (heap !== null) liveHeap.push(heap);
    }
  }
  let liveHeapPair: StrategyPairResult | null = null;
  if (
    selected(
      options,
      'live-heap-pair',
      'PhoenixIPC adaptive and block pipelined side by side, alternating rounds, in a client with a live heap',
    )
  ) {
    liveHeapPair = await runJob(
      record,
      'live-heap-pair',
      'live-heap-pair',
      {
        kind: 'strategy-pair',
        segment: nextSegment(),
        plan: options.quick ? LIVE_HEAP_PAIR_QUICK_PLAN : LIVE_HEAP_PAIR_PLAN,
      },
      'strategy-pair',
      jobTimeoutMs,
      strategyPairSummary,
      ['--expose-gc'],
    );
  }

  const scaling: ScalingResult[] = [];
  /** 1 × 1 and 4 × 2 in alternating rounds, each row with its round: the #16 scaling verdict's median. */
  const scalingRounds: ScalingResult[] = [];
  if (selected(options, 'scaling', `PhoenixIPC throughput scaling, workers 1..${options.workers}`)) {
    const runScaling = async (workers: number, callers: number, round?: number): Promise<void> => {
      const name = `scaling ${workers}w x ${callers}c${round === undefined ? '' : ` #${round}`}`;
      const noiseKey = `scaling-${workers}x${callers}${round === undefined ? '' : `-round${round}`}`;
      const result = await runJob(
        record,
        name,
        noiseKey,
        {
          kind: 'scaling',
          segment: nextSegment(),
          workers,
          callers,
          payloadBytes: 16,
          inFlight: IN_FLIGHT,
          warmupMs: options.quick ? 50 : 500,
          durationMs: options.quick ? 10_000 : 2000,
          maxCalls: options.quick ? 300 : Number.MAX_SAFE_INTEGER,
        },
        'scaling',
        jobTimeoutMs,
        (measured) =>
          `${measured.verified.toLocaleString('en-US')} replies verified — ${formatRate(measured.msgsPerSec)}/s`,
      );
      if (result === null) return;
      if (round === undefined) scaling.push(result);
      else scalingRounds.push({ ...result, round });
    };
    // The configurations: 1..N workers with the --callers clients, then 4 clients against 2 workers (issue 16).
    const configurations: { workers: number; callers: number }[] = [];
    for (let workers = 1; workers <= options.workers; workers++)
      configurations.push({ workers, callers: options.callers });
    if (!configurations.some((c) => c.workers === 2 && c.callers === 4))
      configurations.push({ workers: 2, callers: 4 });
    for (const { workers, callers } of configurations) await runScaling(workers, callers);
    // The two rows the #16 target compares, taking turns: the table's two windows lie seconds apart, and this
    // VM's speed drifts by several percent from one minute to the next (single pairs gave 0.82-1.00 within an hour).
    if (!options.quick) {
      for (let round = 1; round <= SCALING_ROUNDS; round++) {
        await runScaling(1, 1, round);
        await runScaling(2, 4, round);
      }
    }
  }

  printSections(log, {
    results,
    natsPair,
    millions,
    liveHeap,
    scaling,
    scalingRounds,
    service,
    cpus: Number(machine.nproc),
  });
  if (oneCpu !== null) {
    log();
    log(
      `## Pipelined x64 with every process on one CPU (client, supervisor and worker pinned to CPU ${ONE_CPU}), medians of ${oneCpu.rounds} alternating rounds`,
    );
    log();
    log(oneCpuTable(oneCpu, strategyPair));
  }
  if (oneCpuSupervisor !== null) {
    log();
    log('The supervisor’s own calls (supervisor→worker, adaptive), pipelined x64, pinned the same way:');
    log();
    log(oneCpuSupervisorTable(oneCpuSupervisor, supervisorTwoCpus()));
  }
  let targets: TargetVerdict[] = [];
  log();
  log('## Targets');
  log();
  if (options.quick) {
    log('not judged in --quick (too few calls for meaningful figures)');
  } else {
    targets = [
      ...judgeTargets(results, natsPair),
      ...judgeServiceTargets(service),
      ...judgeRoundTwoTargets(results, millions, liveHeap, strategyPair, liveHeapPair),
      ...judgeScaling(scaling, scalingRounds),
      ...judgeLatencyPair(latencyPair),
      ...judgeOneCpu(oneCpu, strategyPair),
      ...judgeAlternatePaths(strategyPair),
      ...judgeOneCpuSupervisor(oneCpuSupervisor, supervisorTwoCpus()),
    ];
    targets = annotateSettings(targets, record.settings);
    log(targetLines(targets));
  }
  const durationMs = Math.round(performance.now() - started);
  log();
  if (errors.length > 0) {
    log(`## ${errors.length} benchmark(s) failed`);
    for (const error of errors) log(`- ${error}`);
    log();
  }
  const settingSpread = summarizeSettings(Object.values(record.settings));
  if (settingSpread !== null) log(`the machine's setting before and after each job: ${settingSpread}`);
  log(
    `finished in ${(durationMs / 1000).toFixed(1)} s; load average now ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}`,
  );

  if (options.filters.length > 0 && Object.keys(record.settings).length === 0 && record.errors.length === 0) {
    process.stderr.write(
      `no benchmark matches --filter ${options.filters.join(', ')} (the ids are listed by --help)\n`,
    );
    return 2;
  }
  if (options.json !== null) {
    const document = {
      machine: { ...machine, compiler, loadavgEnd: loadavg(), otherLoadBeforePercent: busyBefore },
      otherLoadPercentPerJob: noise,
      machineSettingPerJob: record.settings,
      options,
      layout: layout.json,
      results,
      million: millions,
      scaling,
      scalingRounds,
      liveHeap,
      liveHeapPair,
      natsPair,
      strategyPair,
      oneCpu,
      oneCpuSupervisor,
      latencyPair,
      service,
      targets,
      errors,
      durationMs,
    };
    writeFileSync(options.json, `${JSON.stringify(document, null, 2)}\n`);
    log(`results written to ${options.json}`);
  }
  return errors.length > 0 ? 1 : 0;
}

/** The job line of a strategy pair (two CPUs or one): each size's medians. */
function strategyPairSummary(result: StrategyPairResult): string {
  const rows = result.rows.map(
    (row) =>
      `${formatBytes(row.payloadBytes)} adaptive ${formatRate(median(row.adaptive))}/s, block ${formatRate(median(row.block))}/s` +
      (row.forkJson.length > 0
        ? `, sendInto ${formatRate(median(row.adaptiveSend))}/s, fork json ${formatRate(median(row.forkJson))}/s`
        : '') +
      (row.adaptiveEmpty.length > 0
        ? `, adaptive with empty payloads ${formatRate(median(row.adaptiveEmpty))}/s`
        : '') +
      (row.adaptiveConcurrent.length > 0
        ? `, adaptive with concurrency 2 ${formatRate(median(row.adaptiveConcurrent))}/s`
        : ''),
  );
  const heap =
    result.liveHeap === undefined
      ? ''
      : ` (live heap ${(result.liveHeap.bytes / 1024 / 1024).toFixed(0)} MiB, ${result.liveHeap.objects.toLocaleString('en-US')} objects)`;
  return `${result.verified.toLocaleString('en-US')} replies verified — medians: ${rows.join('; ')}${heap}`;
}

process.exit(await main());
