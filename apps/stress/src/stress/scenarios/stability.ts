// Stability.*: a soak at steady load. Every second it samples the resident
// memory of every process (supervisor, workers, clients) and the segment's
// size and allocated blocks in /dev/shm; memory that keeps growing fails it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { FixtureProcess } from '../child.js';
import { LEAK } from '../protocol.js';
import {
  check,
  formatCount,
  round,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  zero,
} from '../scenario.js';
import { median } from '../stats.js';
import {
  COMPACT,
  loadConfig,
  progressOf,
  startClient,
  startServer,
  stopLoads,
  stopServer,
  totalOf,
  type WorkerBrief,
  workerPidsOf,
} from './common.js';

/** Growth allowed between the first and the last third of the samples (after warm-up). */
const TOLERANCE_MB = 24;
const TOLERANCE_SHARE = 0.3;
const MB = 1024 * 1024;

function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? null : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

interface Series {
  role: string;
  pid: number;
  samples: number[];
  /** V8 heapUsed (supervisor and clients only: workers take no commands). */
  heap: number[];
}

interface Verdict {
  role: string;
  pid: number;
  samples: number;
  firstMb: number;
  minMb: number;
  maxMb: number;
  earlyMedianMb: number;
  middleMedianMb: number;
  lateMedianMb: number;
  growthMb: number;
  heapEarlyMb: number | null;
  heapLateMb: number | null;
  ok: boolean;
}

function judge(series: Series, warmup: number): Verdict {
  const steady = series.samples.slice(warmup);
  const third = Math.max(1, Math.floor(steady.length / 3));
  const early = median(steady.slice(0, third));
  const middle = median(steady.slice(third, steady.length - third));
  const late = median(steady.slice(-third));
  const growth = late - early;
  const tolerance = Math.max(TOLERANCE_MB * MB, early * TOLERANCE_SHARE);
  const mb = (bytes: number) => round(bytes / MB);
  const heap = series.heap.slice(warmup);
  const heapThird = Math.max(1, Math.floor(heap.length / 3));
  return {
    role: series.role,
    pid: series.pid,
    samples: series.samples.length,
    firstMb: mb(series.samples[0] ?? 0),
    minMb: mb(Math.min(...series.samples)),
    maxMb: mb(Math.max(...series.samples)),
    earlyMedianMb: mb(early),
    middleMedianMb: mb(middle),
    lateMedianMb: mb(late),
    growthMb: mb(growth),
    heapEarlyMb: heap.length === 0 ? null : mb(median(heap.slice(0, heapThird))),
    heapLateMb: heap.length === 0 ? null : mb(median(heap.slice(-heapThird))),
    // Growing without bound: up by more than the tolerance over the run, and still going up in its last
    // part (a one-off step while the heap settles levels off; a leak does not).
    ok: steady.length < 3 || growth <= tolerance || late - middle <= tolerance / 2,
  };
}

async function runStability(context: ScenarioContext): Promise<ScenarioResult> {
  const name = context.segmentName('st');
  const shmPath = `/dev/shm${name}`;
  const shmPrefix = name.slice(1).replace(/\d+$/, '');
  const echoFuncId = context.selfTestFail ? LEAK : undefined;
  const server = await startServer(context, 'supervisor', {
    name,
    incarnation: 1,
    options: { ...COMPACT, normalWorkers: 2, vipWorkers: 1, maxClients: 4 },
    load: loadConfig(context, 's', { kind: 'echo', lanes: 2, timeoutMs: 10_000, payloadMin: 16, payloadMax: 1000 }),
  });
  const clients: FixtureProcess[] = [];
  for (let k = 0; k < 2; k++) {
    clients.push(
      await startClient(context, `client c${k}`, {
        name,
        mode: 'load',
        connectTimeoutMs: 10_000,
        load: loadConfig(context, `c${k}`, {
          kind: 'echo',
          lanes: 8,
          timeoutMs: 10_000,
          payloadMin: 16,
          payloadMax: 1000,
          echoFuncId,
        }),
      }),
    );
  }
  const callers = [server.process, ...clients];
  for (const caller of callers) await caller.request({ cmd: 'load-start' }, 'loadStarted', 10_000);

  const series = new Map<number, Series>();
  const shm = { size: [] as number[], allocated: [] as number[], entries: [] as number[] };
  const workerPidSets = new Set<string>();
  const everyMs = Math.max(100, Math.min(1000, Math.round(context.durationMs / 15)));
  const started = Date.now();
  let samples = 0;
  while (Date.now() - started < context.durationMs) {
    await context.sleep(everyMs);
    const stats = (await server.process.request({ cmd: 'stats' }, 'stats', 5000)).stats as WorkerBrief[];
    workerPidSets.add(stats.map((s) => s.pid).join(','));
    const processes: [string, number][] = [
      ['supervisor', server.process.pid],
      ...stats.map((s): [string, number] => [`worker ${s.group}[${s.index}]`, s.pid]),
      ...clients.map((c, k): [string, number] => [`client c${k}`, c.pid]),
    ];
    for (const [role, pid] of processes) {
      const rss = rssOf(pid);
      if (rss === null) continue;
      let entry = series.get(pid);
      if (entry === undefined) {
        entry = { role, pid, samples: [], heap: [] };
        series.set(pid, entry);
      }
      entry.samples.push(rss);
    }
    for (const caller of callers) {
      const answer = await caller.request({ cmd: 'memory' }, 'memory', 5000).catch(() => null);
      const heapUsed = (answer?.memory as { heapUsed?: number } | undefined)?.heapUsed;
      if (typeof heapUsed === 'number') series.get(caller.pid)?.heap.push(heapUsed);
    }
    try {
      const stat = statSync(shmPath);
      shm.size.push(stat.size);
      shm.allocated.push(stat.blocks * 512);
    } catch {
      shm.size.push(-1);
      shm.allocated.push(-1);
    }
    shm.entries.push(readdirSync('/dev/shm').filter((entry) => entry.startsWith(shmPrefix)).length);
    samples++;
    const total = [...series.values()].reduce((n, s) => n + (s.samples.at(-1) ?? 0), 0);
    const calls = (await progressOf(callers)).reduce((n, t) => n + (t.ok ?? 0), 0);
    context.progress(
      (Date.now() - started) / context.durationMs,
      `samples ${samples}, RSS total ${round(total / MB)} MiB, calls ${formatCount(calls)}`,
    );
  }
  context.progress(1, 'draining');
  const tallies = await stopLoads(callers, 15_000);
  const stop = await stopServer(server.process, name, workerPidsOf(server.process));
  for (const client of clients) client.send({ cmd: 'exit' });
  await Promise.all(clients.map((c) => Promise.race([c.exited, context.sleep(5000)])));

  // Warm-up: the first 20% of the samples (JIT, heap sizing, first touch of the rings).
  const warmup = Math.floor(samples * 0.2);
  const verdicts = [...series.values()].map((s) => judge(s, warmup));
  const growing = verdicts.filter((v) => !v.ok);
  const total = totalOf(tallies);
  const failed =
    total.crashed + total.mismatched + total.pending + Object.values(total.errors).reduce((a, b) => a + b, 0);
  const sizes = new Set(shm.size);
  const allocatedLast = shm.allocated.at(-1) ?? 0;
  const sizeLast = shm.size.at(-1) ?? 0;
  const details = [
    `${samples} samples every ${everyMs} ms, warm-up ${warmup}; after it, growth = median of the last third - median of the first third; growing = growth > max(${TOLERANCE_MB} MiB, ${TOLERANCE_SHARE * 100}%) and last third - middle third > half that`,
    'RSS (heap: V8 heapUsed, early -> late medians)',
    'process              pid      first    min      max      early    middle   late     growth   heap',
    ...verdicts.map(
      (v) =>
        `${v.role.padEnd(20)} ${String(v.pid).padEnd(8)} ${[
          v.firstMb,
          v.minMb,
          v.maxMb,
          v.earlyMedianMb,
          v.middleMedianMb,
          v.lateMedianMb,
          v.growthMb,
        ]
          .map((n) => `${n.toFixed(1)}M`.padEnd(8))
          .join(
            ' ',
          )} ${v.heapEarlyMb === null ? '-' : `${v.heapEarlyMb.toFixed(1)}M -> ${v.heapLateMb!.toFixed(1)}M`}${v.ok ? '' : ' GROWING'}`,
    ),
    `/dev/shm${name}: size ${round(sizeLast / MB, 2)} MiB, allocated ${round((shm.allocated[0] ?? 0) / MB, 2)} -> ${round(allocatedLast / MB, 2)} MiB, entries ${Math.min(...shm.entries)}..${Math.max(...shm.entries)}`,
  ];
  const rssTotalMb = round(verdicts.reduce((n, v) => n + v.lateMedianMb, 0));
  return {
    metrics: {
      samples,
      sampleEveryMs: everyMs,
      warmupSamples: warmup,
      processes: verdicts.map((v) => ({ ...v })),
      growing: growing.map((v) => v.role),
      rssTotalMb,
      shm: {
        sizeBytes: sizeLast,
        allocatedFirstBytes: shm.allocated[0] ?? 0,
        allocatedLastBytes: allocatedLast,
        allocatedMaxBytes: Math.max(...shm.allocated),
        entriesMax: Math.max(...shm.entries),
      },
      calls: total.sent,
      ok: total.ok,
      failed,
      errors: { ...total.errors },
      workerSets: workerPidSets.size,
      stop: { ...stop },
    },
    checks: [
      check('samples', samples >= 3, samples, '>= 3'),
      check(
        'no process with growing memory',
        growing.length === 0,
        growing.map((v) => `${v.role} +${v.growthMb} MiB`),
        'none',
      ),
      check('segment size constant', sizes.size === 1 && !sizes.has(-1), [...sizes], 'one size'),
      check(
        // Every page is reserved at creation: allocation is the size rounded up to whole pages, and never grows.
        'segment allocation within its size',
        Math.max(...shm.allocated) <= pageAligned(sizeLast),
        Math.max(...shm.allocated),
        `<= ${pageAligned(sizeLast)}`,
      ),
      check('no extra /dev/shm entries', Math.max(...shm.entries) === 1, Math.max(...shm.entries), '1'),
      check('same workers throughout (no crash, no restart)', workerPidSets.size === 1, workerPidSets.size, '1'),
      zero('failed calls', failed),
      check(
        'clean stop (workers gone, segment unlinked)',
        stop.stopped && stop.workersLeft.length === 0 && !stop.segmentLeft,
        { ...stop },
        'stopped, no worker, no segment',
      ),
    ],
    summary: `${samples} samples, RSS total ${rssTotalMb} MiB, max growth ${Math.max(...verdicts.map((v) => v.growthMb))} MiB (${growing.length} growing), shm ${round(allocatedLast / MB, 2)}/${round(sizeLast / MB, 2)} MiB, calls ${formatCount(total.sent)}, failed ${failed}`,
    details,
  };
}

export const stabilityScenarios: Scenario[] = [
  {
    name: 'Stability.soak',
    description: 'steady load for the duration; RSS of every process and /dev/shm usage sampled every second',
    defaultDurationMs: 30_000,
    run: runStability,
  },
];

function pageAligned(bytes: number): number {
  return Math.ceil(bytes / 4096) * 4096;
}
