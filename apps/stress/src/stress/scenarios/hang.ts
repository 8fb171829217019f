// Hang.*: handlers that never return (a busy loop) or return far too late,
// with a small hangTimeoutMs. Each hung call must fail with
// ERR_PHOENIX_WORKER_CRASHED reason 'hang' within hangTimeoutMs + 1 s, while
// the other calls keep being served.
import type { FixtureProcess, Message } from '../child.js';
import { HANG, SPIN } from '../protocol.js';
import {
  atLeast,
  atMost,
  check,
  formatCount,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  zero,
} from '../scenario.js';
import { Percentiles } from '../stats.js';
import {
  COMPACT,
  loadConfig,
  startClient,
  startServer,
  stopLoads,
  stopServer,
  totalOf,
  workerPidsOf,
} from './common.js';

const SLACK_MS = 1000;

interface HangCall {
  caller: string;
  kind: 'busy loop' | 'long spin';
  priority: 0 | 1;
  ok: boolean;
  code: string | null;
  reason: string | null;
  ms: number;
}

async function runHang(context: ScenarioContext, hangTimeoutMs: number): Promise<ScenarioResult> {
  const name = context.segmentName('hg');
  const server = await startServer(context, 'supervisor', {
    name,
    incarnation: 1,
    options: {
      ...COMPACT,
      normalWorkers: 2,
      vipWorkers: 1,
      maxClients: 4,
      hangTimeoutMs,
      restartBackoff: { initialMs: 10, maxMs: 50, factor: 1 },
      crashLoop: { maxCrashes: 1_000_000, windowMs: 1000 },
    },
    // The supervisor's own steady calls go to the VIP group (which the hangs hit too): they may wait, never fail.
    load: loadConfig(context, 's', { kind: 'echo', lanes: 2, timeoutMs: 0, highShare: 1 }),
  });
  // The steady client calls the normal group: with one normal worker hung, the other serves.
  const steady = await startClient(context, 'steady client', {
    name,
    mode: 'load',
    connectTimeoutMs: 10_000,
    load: loadConfig(context, 'steady', { kind: 'echo', lanes: 4, timeoutMs: 0, highShare: 0 }),
  });
  const hanger = await startClient(context, 'hanging client', { name, mode: 'hang', connectTimeoutMs: 10_000 });
  const restarts: Message[] = [];
  server.process.onMessage((m) => {
    if (m.event === 'workerRestart') restarts.push(m);
  });
  for (const caller of [server.process, steady]) await caller.request({ cmd: 'load-start' }, 'loadStarted', 10_000);

  const hangs: HangCall[] = [];
  const latency = new Percentiles();
  const started = Date.now();
  const end = started + context.durationMs;
  let k = 0;
  do {
    const caller: FixtureProcess = k % 2 === 0 ? hanger : server.process;
    const priority: 0 | 1 = k % 3 === 2 ? 1 : 0;
    const kind: HangCall['kind'] = k % 4 === 3 ? 'long spin' : 'busy loop';
    // Self-test: a "hang" that is no hang (returns at once) must be reported as a broken guarantee.
    const funcId = context.selfTestFail && k === 0 ? SPIN : kind === 'busy loop' ? HANG : SPIN;
    const payload = context.selfTestFail && k === 0 ? '0' : kind === 'busy loop' ? '' : String(hangTimeoutMs * 4);
    const restartsBefore = restarts.length;
    const answer = await caller.request(
      { cmd: 'call', funcId, payload, priority, timeoutMs: 30_000, tag: `hang${k}` },
      'called',
      40_000,
    );
    const call: HangCall = {
      caller: caller === hanger ? 'client' : 'supervisor',
      kind,
      priority,
      ok: answer.ok === true,
      code: (answer.code as string | undefined) ?? null,
      reason: (answer.reason as string | null | undefined) ?? null,
      ms: Math.round(Number(answer.ms)),
    };
    hangs.push(call);
    latency.record(call.ms);
    // Wait for the replacement before the next hang, so that a group never loses all its workers at once.
    if (!call.ok) {
      const deadline = Date.now() + 15_000;
      while (restarts.length === restartsBefore && Date.now() < deadline) await context.sleep(10);
    }
    k++;
    context.progress((Date.now() - started) / context.durationMs, `hangs ${hangs.length}`);
    await context.sleep(100);
  } while (Date.now() < end);
  context.progress(1, 'draining');
  const tallies = await stopLoads([server.process, steady], 15_000);
  const stop = await stopServer(server.process, name, workerPidsOf(server.process));
  for (const client of [steady, hanger]) client.send({ cmd: 'exit' });
  await Promise.all([steady, hanger].map((c) => Promise.race([c.exited, context.sleep(5000)])));

  const wrong = hangs.filter((h) => h.ok || h.code !== 'ERR_PHOENIX_WORKER_CRASHED' || h.reason !== 'hang');
  const late = hangs.filter((h) => h.ms > hangTimeoutMs + SLACK_MS);
  const early = hangs.filter((h) => !h.ok && h.ms < hangTimeoutMs - 5);
  const total = totalOf(tallies);
  const steadyTally = tallies[1]!;
  const failed =
    total.crashed + total.mismatched + total.pending + Object.values(total.errors).reduce((a, b) => a + b, 0);
  const summary = latency.summary();
  return {
    metrics: {
      hangTimeoutMs,
      hangs: hangs.length,
      hangFailMs: { ...summary },
      notReportedAsHang: wrong.length,
      late: late.length,
      early: early.length,
      hangCalls: hangs.map((h) => ({ ...h })),
      steadyCalls: total.sent,
      steadyOk: total.ok,
      steadyFailed: failed,
      steadyMaxGapMs: steadyTally.maxGapMs,
      steadyLatencyUs: { ...steadyTally.latencyUs },
      stop: { ...stop },
    },
    checks: [
      atLeast('hung calls', hangs.length, 1),
      zero("hung calls not failed with ERR_PHOENIX_WORKER_CRASHED reason 'hang'", wrong.length),
      zero(`hung calls failed later than hangTimeoutMs + ${SLACK_MS} ms`, late.length),
      zero('hung calls failed before hangTimeoutMs', early.length),
      zero('failed calls of the steady callers', failed),
      atLeast('steady calls served', total.ok, 1),
      atMost(
        'longest pause of the steady client (normal group)',
        steadyTally.maxGapMs,
        hangTimeoutMs + SLACK_MS,
        ' ms',
      ),
      check(
        'clean stop (workers gone, segment unlinked)',
        stop.stopped && stop.workersLeft.length === 0 && !stop.segmentLeft,
        { ...stop },
        'stopped, no worker, no segment',
      ),
    ],
    summary: `hangs ${hangs.length} (timeout ${hangTimeoutMs} ms), failed after p50 ${summary.p50} max ${summary.max} ms, not 'hang' ${wrong.length}, steady ok ${formatCount(total.ok)} failed ${failed}, steady max pause ${steadyTally.maxGapMs} ms`,
  };
}

export const hangScenarios: Scenario[] = [
  {
    name: 'Hang.busyHandlers',
    description: 'handlers that busy-loop forever or far past hangTimeoutMs (300 ms); other calls keep flowing',
    defaultDurationMs: 15_000,
    run: (context) => runHang(context, 300),
  },
];
