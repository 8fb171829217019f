// SupervisorRestart.*: the supervisor is SIGKILLed again and again and a new
// one takes the segment name over. Clients under load must see
// ERR_PHOENIX_SERVER_GONE within 1 s, reconnect and be served; the dead
// supervisor's workers must exit within 1 s; and no request of a dead epoch
// may run after the takeover (the run log says who ran what, and when).
import { join } from 'node:path';
import type { FixtureProcess } from '../child.js';
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
  livePids,
  loadConfig,
  readLog,
  startClient,
  startServer,
  stopLoads,
  stopServer,
  totalOf,
  workerPidsOf,
} from './common.js';

const GONE_LIMIT_MS = 1000;
const WORKER_EXIT_LIMIT_MS = 1000;

interface Incarnation {
  number: number;
  spawnAt: number;
  readyAt: number;
  killAt: number;
  epoch: number;
  workerPids: number[];
  process: FixtureProcess;
}

async function runSupervisorRestart(context: ScenarioContext, clientsCount: number): Promise<ScenarioResult> {
  const name = context.segmentName('sr');
  const logPath = join(context.tempDir, 'runs.log');
  const incarnations: Incarnation[] = [];
  // Self-test: a limit no client can meet.
  const goneLimit = context.selfTestFail ? -1 : GONE_LIMIT_MS;
  const start = async (number: number): Promise<Incarnation> => {
    const spawnAt = Date.now();
    const server = await startServer(context, `supervisor #${number}`, {
      name,
      incarnation: number,
      logPath,
      options: { ...COMPACT, normalWorkers: 2, vipWorkers: 1, maxClients: clientsCount + 1 },
    });
    const incarnation: Incarnation = {
      number,
      spawnAt,
      readyAt: Date.now(),
      killAt: 0,
      epoch: server.epoch,
      workerPids: server.workers.map((w) => w.pid),
      process: server.process,
    };
    incarnations.push(incarnation);
    return incarnation;
  };

  let current = await start(1);
  const clients: FixtureProcess[] = [];
  for (let k = 0; k < clientsCount; k++) {
    clients.push(
      await startClient(context, `client c${k}`, {
        name,
        mode: 'load',
        connectTimeoutMs: 10_000,
        reconnect: true,
        load: loadConfig(context, `c${k}`, { kind: 'log', lanes: 4, timeoutMs: 0, stampIds: true, workUsMax: 500 }),
      }),
    );
  }
  for (const client of clients) await client.request({ cmd: 'load-start' }, 'loadStarted', 10_000);

  const goneLatency = new Percentiles();
  const workerExit = new Percentiles();
  const reconnect = new Percentiles();
  let goneLate = 0;
  let goneMissing = 0;
  let workersLate = 0;
  let notServedAgain = 0;
  const started = Date.now();
  const end = started + context.durationMs;
  do {
    // Serve for a while, then kill the supervisor with calls in flight.
    await context.sleep(randomInt(context.random, 300, 1200));
    const marks = clients.map((c) => c.messages.length);
    current.killAt = Date.now();
    current.process.kill('SIGKILL');
    await current.process.exited;
    // Clients: ERR_PHOENIX_SERVER_GONE within 1 s. Workers: gone within 1 s.
    const [gones, left] = await Promise.all([
      Promise.all(
        clients.map((c, i) =>
          c.waitFor('serverGone', GONE_LIMIT_MS + 2000, marks[i]).then(
            (m) => Number(m.serverGone) - current.killAt,
            () => -1,
          ),
        ),
      ),
      (async () => {
        const pids = workerPidsOf(current.process).concat(current.workerPids);
        const t0 = Date.now();
        let alive = livePids(pids);
        while (alive.length > 0 && Date.now() - t0 < WORKER_EXIT_LIMIT_MS + 2000) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          alive = livePids(alive);
        }
        return { ms: Date.now() - current.killAt, left: alive.length };
      })(),
    ]);
    for (const ms of gones) {
      if (ms < 0) goneMissing++;
      else {
        goneLatency.record(ms);
        if (ms > goneLimit) goneLate++;
      }
    }
    workerExit.record(left.ms);
    if (left.left > 0 || left.ms > WORKER_EXIT_LIMIT_MS) workersLate++;
    // The takeover: a new supervisor on the same name; the clients reconnect and are served again.
    const marksBefore = clients.map((c) => c.messages.length);
    current = await start(current.number + 1);
    const served = await Promise.all(
      clients.map((c, i) =>
        c.waitFor('servedAgain', 15_000, marksBefore[i]).then(
          (m) => Number(m.servedAgain) - current.readyAt,
          () => null,
        ),
      ),
    );
    // (A client may be served before the CLI hears the supervisor is ready: that counts as 0.)
    for (const ms of served) {
      if (ms === null) notServedAgain++;
      else reconnect.record(Math.max(0, ms));
    }
    context.progress(
      (Date.now() - started) / context.durationMs,
      `takeovers ${incarnations.length - 1}, server-gone max ${goneLatency.summary().max} ms`,
    );
  } while (Date.now() < end);
  context.progress(1, 'draining');
  await context.sleep(300);
  const tallies = await stopLoads(clients, 10_000);
  const stop = await stopServer(current.process, name, workerPidsOf(current.process));
  for (const client of clients) client.send({ cmd: 'exit' });
  await Promise.all(clients.map((c) => Promise.race([c.exited, context.sleep(5000)])));

  // The run log: "<id> <incarnation> <ranAt>", ids "<tag>.<seq>@<sentAt>".
  const byNumber = new Map(incarnations.map((i) => [i.number, i]));
  let staleRuns = 0; // a request sent before its runner's supervisor existed: it came from a dead epoch
  let zombieRuns = 0; // a dead supervisor's worker ran something after the next one was ready
  const examples: string[] = [];
  const entries = readLog(logPath);
  for (const entry of entries) {
    const at = entry.id.lastIndexOf('@');
    const sentAt = at < 0 ? Number.NaN : Number.parseInt(entry.id.slice(at + 1), 10);
    const runner = byNumber.get(entry.incarnation);
    const next = byNumber.get(entry.incarnation + 1);
    if (runner !== undefined && sentAt < runner.spawnAt) {
      staleRuns++;
      if (examples.length < 5)
        examples.push(
          `${entry.id} (sent ${runner.spawnAt - sentAt} ms before supervisor #${runner.number} started) ran in #${runner.number}`,
        );
    }
    if (next !== undefined && entry.at > next.readyAt) {
      zombieRuns++;
      if (examples.length < 5)
        examples.push(
          `${entry.id} ran in dead supervisor #${entry.incarnation}'s worker ${entry.at - next.readyAt} ms after #${next.number} was ready`,
        );
    }
  }
  const epochs = incarnations.map((i) => i.epoch);
  const epochsIncrease = epochs.every((epoch, i) => i === 0 || epoch === epochs[i - 1]! + 1);
  const total = totalOf(tallies);
  const takeovers = incarnations.length - 1;
  const gone = goneLatency.summary();
  const exit = workerExit.summary();
  const back = reconnect.summary();
  const unexpected = Object.entries(total.errors).filter(
    ([code]) => code !== 'ERR_PHOENIX_SERVER_GONE' && code !== 'ERR_PHOENIX_NOT_CONNECTED',
  );
  return {
    metrics: {
      takeovers,
      epochs,
      clients: clientsCount,
      serverGoneMs: { ...gone },
      serverGoneLate: goneLate,
      serverGoneMissing: goneMissing,
      workerExitMs: { ...exit },
      workersLate,
      servedAgainMs: { ...back },
      notServedAgain,
      calls: total.sent,
      ok: total.ok,
      errors: { ...total.errors },
      lost: total.pending,
      runsLogged: entries.length,
      staleRuns,
      zombieRuns,
      examples,
      stop: { ...stop },
    },
    checks: [
      atLeast('takeovers', takeovers, 1),
      zero(`clients told ERR_PHOENIX_SERVER_GONE later than ${goneLimit} ms`, goneLate),
      zero('clients never told ERR_PHOENIX_SERVER_GONE', goneMissing),
      atMost('server-gone latency max', gone.max, goneLimit, ' ms'),
      zero(`kills whose workers did not all exit within ${WORKER_EXIT_LIMIT_MS} ms`, workersLate),
      zero('clients not served again after a takeover (15 s)', notServedAgain),
      zero('requests of a dead epoch run after the takeover', staleRuns),
      zero("dead supervisors' workers running after the takeover", zombieRuns),
      check('segment epoch goes up by one per takeover', epochsIncrease, epochs, 'n, n+1, ...'),
      zero('lost (calls that never settled)', total.pending),
      check(
        'errors other than SERVER_GONE / NOT_CONNECTED',
        unexpected.length === 0,
        Object.fromEntries(unexpected),
        '{}',
      ),
      zero('mismatched replies', total.mismatched),
      check(
        'clean stop (workers gone, segment unlinked)',
        stop.stopped && stop.workersLeft.length === 0 && !stop.segmentLeft,
        { ...stop },
        'stopped, no worker, no segment',
      ),
    ],
    summary: `takeovers ${takeovers}, server-gone p50 ${gone.p50} max ${gone.max} ms, workers exit max ${exit.max} ms, served again p50 ${back.p50} max ${back.max} ms, calls ${formatCount(total.sent)}, lost ${total.pending}, stale runs ${staleRuns}`,
  };
}

export const supervisorRestartScenarios: Scenario[] = [
  {
    name: 'SupervisorRestart.killAndTakeover',
    description: 'SIGKILL the supervisor every 0.3-1.2 s under client load; a new one takes the name over',
    defaultDurationMs: 20_000,
    run: (context) => runSupervisorRestart(context, 2),
  },
];
