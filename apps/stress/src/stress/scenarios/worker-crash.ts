// WorkerCrashSimulation.*: a server under load from its supervisor and from
// client processes while a chaos monkey SIGKILLs random workers. Every call
// has a unique id; the LOG handler appends the id to a run log before it
// replies, so the log says how often each request ran.
import { join } from 'node:path';
import type { FixtureProcess } from '../child.js';
import type { LoadTally } from '../protocol.js';
import { deriveSeed } from '../random.js';
import {
  atLeast,
  type Check,
  check,
  formatCount,
  type MetricValue,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  zero,
} from '../scenario.js';
import type { Summary } from '../stats.js';
import {
  COMPACT,
  exactlyOnce,
  loadConfig,
  mainPhase,
  progressOf,
  readLog,
  readOutcomes,
  startClient,
  startServer,
  stopLoads,
  stopServer,
  totalOf,
  workerPidsOf,
} from './common.js';

interface Variant {
  normalWorkers: number;
  vipWorkers: number;
  clients: number;
  lanes: number;
  killMinMs: number;
  killMaxMs: number;
  workUsMax: number;
  /** spareWorkers of the server. */
  spares: number;
  /** replyBatch of the server (undefined: its default). */
  replyBatch?: number;
  /**
   * Judged targets (ms); undefined: reported, not judged. "While spares
   * last": the kills for which a spare was ready when the crash was handled.
   */
  targets: { recoveryP99Ms?: number; recoveryWhileSparesLastP50Ms?: number; worstGapMs?: number };
}

interface ChaosReport {
  kills: number;
  skipped: number;
  crashEvents: number;
  killCrashes: number;
  unexpectedCrashes: number;
  unexpectedCrashFacts: Record<string, unknown>[];
  poisons: number;
  poisonSeqIds: number[];
  stagedRepliesPublished: number;
  restarts: number;
  spareRestarts: number;
  unrecovered: number;
  recoveryMs: Summary;
  recoveryBySpareMs: Summary;
  recoveryReadySpareMs: Summary;
  recoveryColdMs: Summary;
  detectionMs: Summary;
}

async function runWorkerCrash(context: ScenarioContext, variant: Variant): Promise<ScenarioResult> {
  const name = context.segmentName('wc');
  const logPath = join(context.tempDir, 'runs.log');
  const outcomePath = (tag: string) => join(context.tempDir, `${tag}.outcomes`);
  const tags = ['s', ...Array.from({ length: variant.clients }, (_, k) => `c${k}`)];
  const load = (tag: string) =>
    loadConfig(context, tag, {
      lanes: variant.lanes,
      kind: 'log',
      workUsMax: variant.workUsMax,
      timeoutMs: 0,
      outcomePath: outcomePath(tag),
      selfTestDuplicate: context.selfTestFail && tag === 's',
    });
  const server = await startServer(context, 'supervisor', {
    name,
    incarnation: 1,
    logPath,
    options: {
      ...COMPACT,
      normalWorkers: variant.normalWorkers,
      vipWorkers: variant.vipWorkers,
      maxClients: variant.clients + 2,
      // Replace at once, and never give up on a worker: the monkey is not a crash loop.
      restartBackoff: { initialMs: 0, maxMs: 50, factor: 1 },
      crashLoop: { maxCrashes: 1_000_000, windowMs: 1000 },
      spareWorkers: variant.spares,
      ...(variant.replyBatch === undefined ? {} : { replyBatch: variant.replyBatch }),
      // The workers make no TLS connections: leave out what Node would do for
      // them at every start. NODE_EXTRA_CA_CERTS (set on the development and CI
      // machines) makes each start parse a CA bundle: 60 ms of CPU instead of
      // 18, per replacement, while the monkey kills several workers a second.
      workerEnv: { ...process.env, NODE_EXTRA_CA_CERTS: undefined },
    },
    load: load('s'),
    chaos: { minMs: variant.killMinMs, maxMs: variant.killMaxMs, seed: deriveSeed(context.seed, 'chaos') },
  });
  const clients: FixtureProcess[] = [];
  for (const tag of tags.slice(1)) {
    clients.push(
      await startClient(context, `client ${tag}`, { name, mode: 'load', connectTimeoutMs: 10_000, load: load(tag) }),
    );
  }
  const callers = [server.process, ...clients];
  for (const caller of callers) await caller.request({ cmd: 'load-start' }, 'loadStarted', 10_000);

  await mainPhase(context, async () => {
    const tallies = await progressOf(callers);
    const sent = tallies.reduce((n, t) => n + (t.sent ?? 0), 0);
    const crashed = tallies.reduce((n, t) => n + (t.crashed ?? 0), 0);
    const kills = (tallies[0] as { kills?: number } | undefined)?.kills ?? 0;
    return `kills ${kills}, calls ${formatCount(sent)}, crash errors ${crashed}`;
  });
  context.progress(1, 'stopping the monkey, draining');
  const chaos = (await server.process.request({ cmd: 'chaos-stop', waitMs: 10_000 }, 'chaos', 20_000))
    .chaos as ChaosReport;
  const tallies = await stopLoads(callers, 15_000);
  const stop = await stopServer(server.process, name, workerPidsOf(server.process));
  for (const client of clients) client.send({ cmd: 'exit' });
  await Promise.all(clients.map((c) => Promise.race([c.exited, context.sleep(5000)])));

  const outcomes = new Map(tags.map((tag) => [tag, readOutcomes(outcomePath(tag))]));
  const once = exactlyOnce(readLog(logPath), outcomes);
  const total: LoadTally = totalOf(tallies);
  const otherErrors = Object.values(total.errors).reduce((a, b) => a + b, 0);
  const recovery = chaos.recoveryMs;
  // Every crash error must answer a request the supervisor found in flight on a dead worker. A
  // poison that is not among the crash errors was answered with its reply instead (it finished
  // just before the kill): the caller still saw exactly one outcome.
  const poisonSet = new Set(chaos.poisonSeqIds);
  const crashNotPoison = total.crashedSeqIds.filter((seqId) => !poisonSet.has(seqId)).length;
  const crashedSet = new Set(total.crashedSeqIds);
  const poisonsAnsweredOk = chaos.poisonSeqIds.filter((seqId) => !crashedSet.has(seqId)).length;
  return {
    metrics: {
      workers: { normal: variant.normalWorkers, vip: variant.vipWorkers },
      callers: tags.length,
      killIntervalMs: [variant.killMinMs, variant.killMaxMs],
      kills: chaos.kills,
      crashEvents: chaos.crashEvents,
      unexpectedCrashes: chaos.unexpectedCrashes,
      unexpectedCrashFacts: chaos.unexpectedCrashFacts.map((c) => ({ ...c }) as Record<string, MetricValue>),
      restarts: chaos.restarts,
      callsSent: total.sent,
      repliesOk: total.ok,
      crashErrors: total.crashed,
      poisonsReported: chaos.poisons,
      poisonsAnsweredWithReply: poisonsAnsweredOk,
      crashErrorsNotPoisons: crashNotPoison,
      poisonsThatRan: once.poisonsThatRan,
      otherErrors: total.errors,
      mismatched: total.mismatched,
      lost: total.pending,
      duplicated: once.duplicated,
      repliedNotRun: once.repliedNotRun,
      unknownRuns: once.unknownRuns,
      runsLogged: once.runs,
      spares: variant.spares,
      replyBatch: variant.replyBatch ?? 'default',
      stagedRepliesPublished: chaos.stagedRepliesPublished,
      spareRestarts: chaos.spareRestarts,
      coldRestarts: chaos.restarts - chaos.spareRestarts,
      recoveryMs: { ...recovery },
      recoveryBySpareMs: { ...chaos.recoveryBySpareMs },
      recoveryWhileSparesLastMs: { ...chaos.recoveryReadySpareMs },
      recoveryColdMs: { ...chaos.recoveryColdMs },
      worstGapMs: total.maxGapMs,
      detectionMs: { ...chaos.detectionMs },
      unrecovered: chaos.unrecovered,
      perCaller: Object.fromEntries(
        tags.map((tag, i) => {
          const { crashedSeqIds: _ids, ...tally } = tallies[i]!;
          return [tag, { ...tally, errors: { ...tally.errors }, latencyUs: { ...tally.latencyUs } }];
        }),
      ),
      stop: { ...stop },
      examples: once.examples,
    },
    checks: [
      atLeast('workers killed', chaos.kills, 1),
      atLeast('replies ok', total.ok, 1),
      zero('lost (calls that never settled)', total.pending),
      zero('duplicated (a request that ran twice)', once.duplicated),
      zero('replied OK but never ran', once.repliedNotRun),
      zero('runs of ids nobody sent', once.unknownRuns),
      zero('mismatched replies (wrong payload)', total.mismatched),
      check('errors other than ERR_PHOENIX_WORKER_CRASHED', otherErrors === 0, total.errors, '{}'),
      check(
        'every kill seen as a crash',
        chaos.killCrashes === chaos.kills,
        chaos.killCrashes,
        `${chaos.kills} (kills)`,
      ),
      zero('crashes the monkey did not cause (see unexpectedCrashFacts)', chaos.unexpectedCrashes),
      zero('crash errors for requests that were not in flight on a dead worker', crashNotPoison),
      check(
        'at most one crash error per kill',
        total.crashed <= chaos.kills,
        total.crashed,
        `<= ${chaos.kills} (kills)`,
      ),
      zero('killed workers that never served again', chaos.unrecovered),
      ...targetChecks(variant, chaos, total.maxGapMs),
      check(
        'clean stop (workers gone, segment unlinked)',
        stop.stopped && stop.workersLeft.length === 0 && !stop.segmentLeft,
        { ...stop },
        'stopped, no worker, no segment',
      ),
    ],
    summary:
      `kills ${chaos.kills}, calls sent ${formatCount(total.sent)}, replies ok ${formatCount(total.ok)}, crash errors ${total.crashed}, lost ${total.pending}, duplicated ${once.duplicated}, ` +
      `staged replies published by recovery ${chaos.stagedRepliesPublished}, ` +
      `detection p50 ${chaos.detectionMs.p50} ms p99 ${chaos.detectionMs.p99} ms, ` +
      `recovery p50 ${recovery.p50} ms p99 ${recovery.p99} ms max ${recovery.max} ms ` +
      `(spare ${chaos.spareRestarts}: p50 ${chaos.recoveryBySpareMs.p50} p99 ${chaos.recoveryBySpareMs.p99} ms, ` +
      `of which ready at the crash ${chaos.recoveryReadySpareMs.count}: p50 ${chaos.recoveryReadySpareMs.p50} p99 ${chaos.recoveryReadySpareMs.p99} ms; ` +
      `cold ${chaos.restarts - chaos.spareRestarts}: p50 ${chaos.recoveryColdMs.p50} ms), worst gap ${total.maxGapMs} ms`,
  };
}

// The recovery targets of warm spares (kill -> replacement serving, as the
// monkey measures it, and the longest a caller went without a reply).
// Percentiles of a few kills say nothing: a brief run (the app's own tests)
// reports the figures and judges the targets only from MIN_KILLS_TO_JUDGE on.
function targetChecks(variant: Variant, chaos: ChaosReport, worstGapMs: number): Check[] {
  if (chaos.kills < MIN_KILLS_TO_JUDGE) return [];
  const { recoveryWhileSparesLastP50Ms, recoveryP99Ms, worstGapMs: gapTarget } = variant.targets;
  const judged: [string, number | undefined, number][] = [
    ['recovery p50 while spares last', recoveryWhileSparesLastP50Ms, chaos.recoveryReadySpareMs.p50],
    ['recovery p99', recoveryP99Ms, chaos.recoveryMs.p99],
    ['worst gap a caller saw', gapTarget, worstGapMs],
  ];
  return judged
    .filter((row): row is [string, number, number] => row[1] !== undefined)
    .map(([what, target, actual]) => check(`${what} under ${target} ms`, actual < target, actual, `< ${target}`));
}

/** Kills a run needs before its recovery percentiles are judged against the targets. */
const MIN_KILLS_TO_JUDGE = 50;

/**
 * Warm spares per group. randomKills (7-8 kills a second) needs enough to
 * cover a burst of kills while the spares taken are replaced: with 3, a run in
 * four still found the pool dry once or twice (recovery p99 58 ms); with 4,
 * none did in four runs (p99 35-44 ms). killStorm kills faster than any pool
 * refills, so there more spares only mean more boots at once, each slowing
 * the handovers (p50 while spares last 35-41 ms with 4, 22-29 ms with 3).
 */
const SPARES_RANDOM_KILLS = 4;
const SPARES_KILL_STORM = 3;

export const workerCrashScenarios: Scenario[] = [
  {
    name: 'WorkerCrashSimulation.randomKills',
    description:
      'SIGKILL a random worker every 50-200 ms under load (supervisor + 2 clients, 2 normal + 1 VIP workers)',
    defaultDurationMs: 30_000,
    run: (context) =>
      runWorkerCrash(context, {
        normalWorkers: 2,
        vipWorkers: 1,
        clients: 2,
        lanes: 8,
        killMinMs: 50,
        killMaxMs: 200,
        workUsMax: 300,
        spares: SPARES_RANDOM_KILLS,
        // Replies go out in batches here, so kills find replies staged: recovery publishes them
        // (killStorm keeps the default, one reply at a time).
        replyBatch: 16,
        targets: { recoveryP99Ms: 50, worstGapMs: 150 },
      }),
  },
  {
    name: 'WorkerCrashSimulation.killStorm',
    description: 'SIGKILL every 5-30 ms, faster than workers restart: queues pile up on dead workers',
    defaultDurationMs: 15_000,
    run: (context) =>
      runWorkerCrash(context, {
        normalWorkers: 2,
        vipWorkers: 1,
        clients: 1,
        lanes: 16,
        killMinMs: 5,
        killMaxMs: 30,
        workUsMax: 1000,
        spares: SPARES_KILL_STORM,
        targets: { recoveryWhileSparesLastP50Ms: 50 },
      }),
  },
];
