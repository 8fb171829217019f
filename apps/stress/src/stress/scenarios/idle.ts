// Idle.*: a PhoenixIPC deployment with no traffic must cost next to nothing.
// A supervisor with 4 normal + 2 VIP workers, their two warm spares and one connected client serve
// some traffic, then sit idle; 1 s after the last call, the CPU time of every
// thread of every process is read from /proc/<pid>/task/*/schedstat
// (nanoseconds) over the scenario's duration.
import { processCpuUs, processRunsOf } from '../../bench/proc.js';
import type { FixtureProcess } from '../child.js';
import { atMost, check, type Scenario, type ScenarioContext, type ScenarioResult } from '../scenario.js';
import { startClient, startServer, stopServer, workerPidsOf } from './common.js';

/** % of one core, in total, that the idle deployment may use. */
const IDLE_LIMIT_PERCENT = 0.3;
/** A warm spare waits on its IPC channel and nothing else. */
const SPARE_LIMIT_PERCENT = 0.05;
const SETTLE_MS = 1000;
/**
 * V8 compacts every Node heap once, about 8 s after its process goes idle
 * (its "memory reducer"): 20-45 ms of CPU per process, whatever the process
 * does, unless the process was started with --no-memory-reducer (set at run
 * time it changes nothing). The supervisor puts that flag on every worker's
 * and spare's command line. The supervisor and the client are application
 * processes: Idle.connectedClient starts them with the same flag, as
 * docs/tuning.md recommends for idle-sensitive deployments, and judges the
 * whole deployment; Idle.plainNode starts them as plain `node` and judges
 * the processes PhoenixIPC starts itself, which must not depend on the
 * supervisor's flags.
 */
const APPLICATION_FLAGS = ['--no-memory-reducer'];

type IdleVariant = 'flagged' | 'plain';

interface ProcessCpu {
  role: string;
  pid: number;
  percentOfCore: number;
  /** Times its threads ran in the window: an idle process's wake-ups, which is what idle CPU is made of. */
  wakeups: number;
}

/** The pids of the warm spares once both groups have theirs (the default: one per group). */
async function readySpares(context: ScenarioContext, server: FixtureProcess): Promise<number[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await server.request({ cmd: 'spares' }, 'spares', 10_000);
    const spares = answer.spares as Record<'normal' | 'vip', { ready: number; pids: number[] }>;
    if ((spares.normal.ready >= 1 && spares.vip.ready >= 1) || Date.now() > deadline)
      return [...spares.normal.pids.slice(0, spares.normal.ready), ...spares.vip.pids.slice(0, spares.vip.ready)];
    await context.sleep(50);
  }
}

async function runIdle(context: ScenarioContext, variant: IdleVariant): Promise<ScenarioResult> {
  const name = context.segmentName('idle');
  const flags = variant === 'flagged' ? APPLICATION_FLAGS : [];
  const server = await startServer(
    context,
    'supervisor',
    {
      name,
      incarnation: 1,
      options: { normalWorkers: 4, vipWorkers: 2, maxClients: 2 },
    },
    flags,
  );
  const client = await startClient(
    context,
    'client',
    {
      name,
      mode: 'idle',
      connectTimeoutMs: 10_000,
      idleCalls: 2000,
    },
    undefined,
    flags,
  );
  const traffic = await client.waitFor((m) => 'idle' in m, 60_000);
  const supervisorCall = await server.process.request({ cmd: 'call', funcId: 1001, payload: 'last' }, 'called', 10_000);
  const spares = await readySpares(context, server.process);
  await context.sleep(SETTLE_MS);
  const roles: [string, number][] = [
    ['supervisor', server.process.pid],
    ...server.workers.map((w): [string, number] => [`${w.group}[${w.index}]`, w.pid]),
    ...spares.map((pid, i): [string, number] => [`spare ${i}`, pid]),
    ['client', client.pid],
  ];
  const before = roles.map(([, pid]) => processCpuUs(pid));
  const runsBefore = roles.map(([, pid]) => processRunsOf(pid));
  const started = performance.now();
  const ticker = setInterval(() => context.progress((performance.now() - started) / context.durationMs, 'idle'), 250);
  try {
    await context.sleep(context.durationMs);
  } finally {
    clearInterval(ticker);
  }
  const elapsedUs = (performance.now() - started) * 1000;
  const perProcess: ProcessCpu[] = roles.map(([role, pid], i) => ({
    role,
    pid,
    percentOfCore: Math.round(((processCpuUs(pid) - before[i]!) / elapsedUs) * 100 * 1000) / 1000,
    wakeups: processRunsOf(pid) - runsBefore[i]!,
  }));
  const total = perProcess.reduce((sum, p) => sum + p.percentOfCore, 0);
  const own = perProcess.filter((p) => p.role !== 'supervisor' && p.role !== 'client');
  const ownTotal = own.reduce((sum, p) => sum + p.percentOfCore, 0);
  const spareCpu = perProcess.filter((p) => p.role.startsWith('spare'));
  const worstSpare = Math.max(0, ...spareCpu.map((p) => p.percentOfCore));
  const stop = await stopServer(server.process, name, workerPidsOf(server.process));
  const idleFacts = traffic.idle as { calls: number; failed: number };
  return {
    metrics: {
      windowMs: Math.round(elapsedUs / 1000),
      totalPercentOfCore: Math.round(total * 1000) / 1000,
      workersAndSparesPercentOfCore: Math.round(ownTotal * 1000) / 1000,
      applicationFlags: flags.join(' '),
      processes: perProcess.map((p) => ({ ...p })),
      trafficCalls: idleFacts.calls,
      stop: { ...stop },
    },
    checks: [
      check('traffic served before the idle window', idleFacts.failed === 0, { ...idleFacts }, 'no failed call'),
      check('the supervisor served its own call', supervisorCall.ok === true, supervisorCall.ok === true, 'true'),
      variant === 'flagged'
        ? atMost('idle CPU, all processes', total, IDLE_LIMIT_PERCENT, '% of one core')
        : atMost('idle CPU of the workers and spares', ownTotal, IDLE_LIMIT_PERCENT, '% of one core'),
      check('warm spares ready (one per group)', spares.length === 2, spares.length, '2'),
      atMost('idle CPU of each warm spare', worstSpare, SPARE_LIMIT_PERCENT, '% of one core'),
      check(
        'clean stop (workers gone, segment unlinked)',
        stop.stopped && stop.workersLeft.length === 0 && !stop.segmentLeft,
        { ...stop },
        'stopped, no worker, no segment',
      ),
    ],
    summary: `idle ${total.toFixed(3)}% of one core in all, ${ownTotal.toFixed(3)}% in the workers and spares; application processes ${flags.length > 0 ? flags.join(' ') : 'plain node'} (${perProcess.map((p) => `${p.role} ${p.percentOfCore.toFixed(3)}% ${p.wakeups}×`).join(', ')}; × = thread runs in the window)`,
  };
}

export const idleScenarios: Scenario[] = [
  {
    name: 'Idle.connectedClient',
    description: `supervisor + 4 normal + 2 VIP workers + 2 warm spares + 1 connected client, idle after traffic, supervisor and client started with ${APPLICATION_FLAGS.join(' ')}: under ${IDLE_LIMIT_PERCENT}% of one core in all, each spare under ${SPARE_LIMIT_PERCENT}% (schedstat)`,
    defaultDurationMs: 10_000,
    run: (context) => runIdle(context, 'flagged'),
  },
  {
    name: 'Idle.plainNode',
    description: `the same deployment with supervisor and client started as plain node (V8 compacts their heaps once, ~8 s after they go idle): the workers and spares under ${IDLE_LIMIT_PERCENT}% of one core in all, each spare under ${SPARE_LIMIT_PERCENT}% (schedstat)`,
    defaultDurationMs: 10_000,
    run: (context) => runIdle(context, 'plain'),
  },
];
