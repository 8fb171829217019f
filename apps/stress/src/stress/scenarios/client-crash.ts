// ClientCrash.*: client processes connect, call, and are SIGKILLed at random,
// for far more cycles than there are client slots, while a steady client and
// the supervisor keep calling.
import type { FixtureProcess, Message } from '../child.js';
import type { ClientConfig } from '../protocol.js';
import { randomInt } from '../random.js';
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
  mainPhase,
  startClient,
  startServer,
  stopLoads,
  stopServer,
  totalOf,
  type WorkerBrief,
  workerPidsOf,
} from './common.js';

const CONNECT_LIMIT_MS = 2000;
/** A killed client's slot comes back within this long (once a ceiling in packages/server/test/client-crash.test.ts). */
const RECLAIM_LIMIT_MS = 2000;

interface Churner {
  process: FixtureProcess;
  connected: boolean;
  connectFailed: string | null;
  killedAt: number;
}

async function runClientCrash(context: ScenarioContext, maxClients: number): Promise<ScenarioResult> {
  const name = context.segmentName('cc');
  const server = await startServer(context, 'supervisor', {
    name,
    incarnation: 1,
    options: { ...COMPACT, normalWorkers: 2, vipWorkers: 1, maxClients },
    // Steady, paced callers: the CPU is for the churning clients (each one a new Node process).
    load: loadConfig(context, 's', { kind: 'echo', lanes: 2, timeoutMs: 10_000, highShare: 0.25, rate: 200 }),
  });
  const gone = new Map<number, number>(); // pid -> when its slot was reclaimed
  const connectedPids = new Set<number>();
  server.process.onMessage((m: Message) => {
    const detail = m.detail as { pid?: number } | undefined;
    if (m.event === 'clientGone' && detail?.pid !== undefined) gone.set(detail.pid, Number(m.at));
    if (m.event === 'clientConnected' && detail?.pid !== undefined) connectedPids.add(detail.pid);
  });
  const steady = await startClient(context, 'steady client', {
    name,
    mode: 'load',
    connectTimeoutMs: 10_000,
    load: loadConfig(context, 'steady', { kind: 'echo', lanes: 4, timeoutMs: 10_000, highShare: 0.25, rate: 1000 }),
  });
  for (const caller of [server.process, steady]) await caller.request({ cmd: 'load-start' }, 'loadStarted', 10_000);

  // Self-test: churners get 1 ms to connect, which they cannot make.
  const churnConnectMs = context.selfTestFail ? 1 : CONNECT_LIMIT_MS;
  const churnConfig = (k: number): ClientConfig => ({
    name,
    mode: 'churn',
    connectTimeoutMs: churnConnectMs,
    load: loadConfig(context, `x${k}`, { kind: 'echo', lanes: 4, timeoutMs: 0, highShare: 0.25 }),
  });
  const connect = new Percentiles();
  const churners: Churner[] = [];
  const live = new Set<Churner>();
  const probes = { ok: 0, failed: 0, codes: {} as Record<string, number> };
  const probeConnect = new Percentiles();
  let spawned = 0;
  let running = true;
  // Up to maxClients - 1 churners at once: the steady client holds a slot, so one is always free once
  // the dead ones are reclaimed.
  const concurrency = Math.max(1, maxClients - 1);
  const churn = async () => {
    while (running) {
      const k = spawned++;
      const child = context.spawn(`churner ${k}`, 'client', churnConfig(k));
      const churner: Churner = { process: child, connected: false, connectFailed: null, killedAt: 0 };
      churners.push(churner);
      live.add(churner);
      // One in five dies before it could connect (or while it does); the rest after some calls.
      const early = context.random() < 0.2;
      if (!early) {
        try {
          const first = await child.waitFor((m) => 'connected' in m || 'connectFailed' in m, 30_000);
          if ('connected' in first) {
            churner.connected = true;
            connect.record(Number(first.ms));
          } else churner.connectFailed = String(first.connectFailed);
        } catch {
          churner.connectFailed = 'exited';
        }
      }
      await context.sleep(randomInt(context.random, 0, early ? 250 : 150));
      if (child.exit === null) {
        churner.killedAt = Date.now();
        child.kill('SIGKILL');
      }
      if (!churner.connected && child.messages.some((m) => 'connected' in m)) churner.connected = true;
      await child.exited;
      live.delete(churner);
    }
  };
  const prober = async () => {
    let k = 0;
    while (running) {
      await context.sleep(1000);
      if (!running) break;
      const probe = context.spawn(`probe ${k++}`, 'client', {
        name,
        mode: 'probe',
        connectTimeoutMs: CONNECT_LIMIT_MS,
      });
      try {
        const first = await probe.waitFor((m) => 'connected' in m || 'connectFailed' in m, 30_000);
        if ('connected' in first) {
          probeConnect.record(Number(first.ms));
          const answer = await probe.waitFor('probe', 10_000);
          if (answer.probe === true) probes.ok++;
          else {
            probes.failed++;
            probes.codes[String(answer.code)] = (probes.codes[String(answer.code)] ?? 0) + 1;
          }
        } else {
          probes.failed++;
          probes.codes[String(first.connectFailed)] = (probes.codes[String(first.connectFailed)] ?? 0) + 1;
        }
      } catch {
        probes.failed++;
        probes.codes.exited = (probes.codes.exited ?? 0) + 1;
      }
      await probe.exited;
    }
  };
  const lanes = [...Array.from({ length: concurrency }, churn), prober()];
  await mainPhase(
    context,
    () => `cycles ${churners.length - live.size}, probes ${probes.ok}/${probes.ok + probes.failed}`,
  );
  running = false;
  context.progress(1, 'waiting for the last churners');
  await Promise.all(lanes);
  // Every killed client that had connected must have its slot reclaimed.
  const killedConnected = churners.filter((c) => c.process.pid > 0 && connectedPids.has(c.process.pid));
  const deadline = Date.now() + 5000;
  while (killedConnected.some((c) => !gone.has(c.process.pid)) && Date.now() < deadline) await context.sleep(20);
  const reclaim = new Percentiles();
  let unreclaimed = 0;
  for (const churner of killedConnected) {
    const at = gone.get(churner.process.pid);
    if (at === undefined) unreclaimed++;
    else if (churner.killedAt > 0) reclaim.record(Math.max(0, at - churner.killedAt));
  }
  // After all that, a newcomer still gets in at once.
  const last = await startClient(context, 'last client', {
    name,
    mode: 'probe',
    connectTimeoutMs: CONNECT_LIMIT_MS,
  }).then(
    (p) => p.waitFor('probe', 10_000).then((m) => m.probe === true),
    () => false,
  );
  const tallies = await stopLoads([server.process, steady], 15_000);
  const stats = (await server.process.request({ cmd: 'stats' }, 'stats', 10_000)).stats as WorkerBrief[];
  const stop = await stopServer(server.process, name, workerPidsOf(server.process));
  steady.send({ cmd: 'exit' });
  await Promise.race([steady.exited, context.sleep(5000)]);

  const total = totalOf(tallies);
  const steadyFailed =
    total.crashed + total.mismatched + total.pending + Object.values(total.errors).reduce((a, b) => a + b, 0);
  const connectFailures = churners.filter((c) => c.connectFailed !== null && c.connectFailed !== 'exited').length;
  const cycles = churners.length;
  const crashes = stats.reduce((n, s) => n + s.crashes, 0);
  const connectSummary = connect.summary();
  const reclaimSummary = reclaim.summary();
  return {
    metrics: {
      maxClients,
      cycles,
      killedAfterConnect: killedConnected.length,
      connectMs: { ...connectSummary },
      connectFailures,
      connectFailureCodes: churners.filter((c) => c.connectFailed !== null).map((c) => c.connectFailed!),
      slotReclaimMs: { ...reclaimSummary },
      unreclaimed,
      probes: { ...probes, codes: { ...probes.codes } },
      probeConnectMs: { ...probeConnect.summary() },
      newcomerServedAtTheEnd: last,
      steadyCalls: total.sent,
      steadyOk: total.ok,
      steadyFailed,
      steadyErrors: { ...total.errors },
      workerCrashes: crashes,
      stop: { ...stop },
    },
    checks: [
      check('cycles far beyond maxClients', cycles > maxClients, cycles, `> ${maxClients}`),
      zero(`churners that could not connect within ${churnConnectMs} ms`, connectFailures),
      zero('probe clients that could not connect and call', probes.failed),
      check('a newcomer is served after all the kills', last, last, 'true'),
      zero('slots of killed clients never reclaimed', unreclaimed),
      atMost('slot reclaim after a kill, max', reclaimSummary.max, RECLAIM_LIMIT_MS, ' ms'),
      zero('failed calls of the steady callers', steadyFailed),
      atLeast('steady calls served', total.ok, 1),
      zero('worker crashes (a client death must not crash a worker)', crashes),
      check(
        'clean stop (workers gone, segment unlinked)',
        stop.stopped && stop.workersLeft.length === 0 && !stop.segmentLeft,
        { ...stop },
        'stopped, no worker, no segment',
      ),
    ],
    summary: `cycles ${cycles} (maxClients ${maxClients}), connect p99 ${connectSummary.p99} ms max ${connectSummary.max} ms, reclaim p99 ${reclaimSummary.p99} ms, connect failures ${connectFailures}, steady ok ${formatCount(total.ok)} failed ${steadyFailed}`,
  };
}

export const clientCrashScenarios: Scenario[] = [
  {
    name: 'ClientCrash.killLoop',
    description:
      'clients connect, call and get SIGKILLed, far beyond maxClients (4) cycles; a steady client keeps calling',
    defaultDurationMs: 20_000,
    run: (context) => runClientCrash(context, 4),
  },
];
