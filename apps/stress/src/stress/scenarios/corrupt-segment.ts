// CorruptSegment.*: a hostile process writes random bytes at random offsets
// of the live segment while traffic flows. The supervisor and the clients
// must survive, every call must settle (a reply or an error), and service
// must resume once the writes stop.
import { deriveSeed } from '../random.js';
import {
  atLeast,
  check,
  formatCount,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  zero,
} from '../scenario.js';
import {
  loadConfig,
  progressByProcess,
  startClient,
  startServer,
  stopLoads,
  stopServer,
  totalOf,
  workerPidsOf,
} from './common.js';

const RESUME_LIMIT_MS = 20_000;

async function runCorrupt(context: ScenarioContext): Promise<ScenarioResult> {
  const name = context.segmentName('cs');
  const server = await startServer(context, 'supervisor', {
    name,
    incarnation: 1,
    options: {
      normalWorkers: 2,
      vipWorkers: 1,
      maxClients: 4,
      normalQueueCapacity: 16,
      vipQueueCapacity: 16,
      maxPayloadBytes: 256,
      restartBackoff: { initialMs: 10, maxMs: 100 },
      crashLoop: { maxCrashes: 1_000_000, windowMs: 60_000 },
    },
    load: loadConfig(context, 's', { kind: 'echo', lanes: 4, timeoutMs: 1000, payloadMin: 8, payloadMax: 200 }),
  });
  const clients = [];
  for (let k = 0; k < 2; k++) {
    clients.push(
      await startClient(context, `client c${k}`, {
        name,
        mode: 'load',
        connectTimeoutMs: 10_000,
        reconnect: true,
        load: loadConfig(context, `c${k}`, { kind: 'echo', lanes: 4, timeoutMs: 1000, payloadMin: 8, payloadMax: 200 }),
      }),
    );
  }
  const callers = [server.process, ...clients];
  for (const caller of callers) await caller.request({ cmd: 'load-start' }, 'loadStarted', 10_000);

  // The fuzz phase takes 60% of the duration, the recovery phase the rest.
  const fuzzMs = Math.max(500, Math.round(context.durationMs * 0.6));
  const recoveryMs = Math.max(1000, context.durationMs - fuzzMs);
  const hostile = context.spawn('hostile writer', 'hostile', {
    segment: name,
    seed: deriveSeed(context.seed, 'hostile'),
    durationMs: fuzzMs,
  });
  await hostile.waitFor((m) => 'attached' in m, 20_000);
  const started = Date.now();
  // Each caller's successful replies (null: it did not answer within 3 s). Resumption is judged caller by
  // caller: a sum would fall, and hide a caller's progress, whenever another was too busy to answer in time.
  const okByCaller = async () => (await progressByProcess(callers, 3000)).map((t) => (t === null ? null : (t.ok ?? 0)));
  const sum = (counts: (number | null)[]) => counts.reduce<number>((n, ok) => n + (ok ?? 0), 0);
  while (hostile.exit === null && !hostile.messages.some((m) => 'done' in m)) {
    await context.sleep(250);
    context.progress(((Date.now() - started) / (fuzzMs + recoveryMs)) * 0.999, 'hostile writes');
  }
  const done = (await hostile.waitFor('done', 10_000)).done as { writes: number; bytes: number };
  const fuzzEnded = Date.now();
  // Service resumes: a caller's successful replies grow again (workers may be replaced on fresh channels first).
  // A caller's baseline is its first answer after the writes.
  const baseline = await okByCaller();
  const okAtWritesEnd = [...baseline];
  const okAtFuzzEnd = sum(okAtWritesEnd);
  let unanswered = baseline.filter((ok) => ok === null).length;
  let resumeMs = -1;
  while (Date.now() - fuzzEnded < RESUME_LIMIT_MS) {
    const now = await okByCaller();
    unanswered += now.filter((ok) => ok === null).length;
    if (now.some((ok, i) => ok !== null && baseline[i] !== null && ok > baseline[i]!)) {
      resumeMs = Date.now() - fuzzEnded;
      break;
    }
    now.forEach((ok, i) => {
      if (baseline[i] === null) baseline[i] = ok;
    });
    await context.sleep(50);
  }
  while (Date.now() - fuzzEnded < recoveryMs) {
    await context.sleep(250);
    context.progress((Date.now() - started) / (fuzzMs + recoveryMs), 'recovering');
  }
  const okAtEnd = sum(await okByCaller());
  if (context.selfTestFail) {
    // Self-test: a client that "did not survive".
    clients[1]!.kill('SIGKILL');
    await clients[1]!.exited;
  }
  context.progress(1, 'draining');
  const tallies = await stopLoads(
    callers.filter((c) => c.exit === null),
    10_000,
  );
  const aliveAfter = {
    supervisor: server.process.exit === null,
    clients: clients.map((c) => c.exit === null),
  };
  const answer = await server.process.request({ cmd: 'stats' }, 'stats', 10_000).catch(() => null);
  const state = answer === null ? 'no answer' : String(answer.state);
  // A newcomer gets ten correct answers within 20 s.
  const newcomer = await startClient(context, 'newcomer', {
    name,
    mode: 'hang', // just connected, driven by commands
    connectTimeoutMs: 20_000,
  }).catch(() => null);
  let served = 0;
  const failures: Record<string, number> = {};
  if (newcomer !== null) {
    const deadline = Date.now() + 20_000;
    for (let i = 0; served < 10 && Date.now() < deadline; i++) {
      const reply = await newcomer.request(
        { cmd: 'call', funcId: 1001, payload: `after ${i}`, timeoutMs: 1000 },
        'called',
        5000,
      );
      if (reply.ok === true) served++;
      else {
        failures[String(reply.code)] = (failures[String(reply.code)] ?? 0) + 1;
        await context.sleep(50);
      }
    }
  }
  const stop = await stopServer(server.process, name, workerPidsOf(server.process));
  for (const client of [...clients, newcomer]) client?.send({ cmd: 'exit' });
  await Promise.all(
    [...clients, newcomer].map((c) => (c === null ? null : Promise.race([c.exited, context.sleep(5000)]))),
  );

  const total = totalOf(tallies);
  const crashes = server.process.messages.filter((m) => m.event === 'workerCrash');
  // Crashes once the writes stopped: a few are replacements meeting what the writer left; a steady stream
  // is a crash loop (something a new worker reads that nothing repairs).
  const crashesAfterWrites = crashes.filter((m) => Number(m.at) > fuzzEnded).length;
  const reasons: Record<string, number> = {};
  // How they died, for a failure's report: 'exit 1' is a replacement that could not attach while the
  // header was garbage; a signal or another status is worth a look.
  const exits: Record<string, number> = {};
  for (const crash of crashes) {
    const detail = crash.detail as { reason?: string; exitCode?: number | null; signal?: string | null };
    const reason = String(detail.reason);
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    const how = detail.signal ?? `exit ${String(detail.exitCode)}`;
    exits[how] = (exits[how] ?? 0) + 1;
  }
  return {
    metrics: {
      fuzzMs,
      recoveryMs,
      writes: done.writes,
      bytesWritten: done.bytes,
      calls: total.sent,
      ok: total.ok,
      crashErrors: total.crashed,
      errors: { ...total.errors },
      mismatchedPayloads: total.mismatched,
      unsettled: total.pending,
      okDuringRecovery: okAtEnd - okAtFuzzEnd,
      resumeMs,
      okAtWritesEnd,
      progressUnanswered: unanswered,
      workerCrashes: crashes.length,
      crashReasons: reasons,
      crashExits: exits,
      crashesAfterWrites,
      aliveAfter,
      supervisorState: state,
      newcomerServed: served,
      newcomerFailures: failures,
      stop: { ...stop },
    },
    checks: [
      atLeast('hostile writes', done.writes, 1),
      check('supervisor alive', aliveAfter.supervisor, aliveAfter.supervisor, 'true'),
      check('client processes alive', aliveAfter.clients.every(Boolean), aliveAfter.clients, 'all true'),
      check('supervisor still running', state === 'running', state, 'running'),
      zero('calls that never settled', total.pending),
      check(
        `callers served again within ${RESUME_LIMIT_MS / 1000} s of the last write`,
        resumeMs >= 0,
        // What a failure needs to be read: each caller's count when the writes stopped, and how often one was
        // too busy to say (a report that said only -1 once left a CI failure unexplained).
        resumeMs >= 0 ? resumeMs : { resumeMs, okAtWritesEnd, progressUnanswered: unanswered, crashesAfterWrites },
        `>= 0 ms (time to the first reply)`,
      ),
      check('a newcomer gets 10 correct answers within 20 s', served === 10, served, '10'),
      check(
        'clean stop (workers gone, segment unlinked)',
        stop.stopped && stop.workersLeft.length === 0 && !stop.segmentLeft,
        { ...stop },
        'stopped, no worker, no segment',
      ),
    ],
    summary: `writes ${formatCount(done.writes)}, calls ${formatCount(total.sent)}, ok ${formatCount(total.ok)}, errors ${formatCount(total.crashed + Object.values(total.errors).reduce((a, b) => a + b, 0))}, unsettled ${total.pending}, worker crashes ${crashes.length} (${formatTally(exits)}; ${crashesAfterWrites} after the writes), resumed after ${resumeMs} ms, newcomer served ${served}/10`,
  };
}

function formatTally(tally: Record<string, number>): string {
  const entries = Object.entries(tally);
  return entries.length === 0 ? 'none' : entries.map(([what, count]) => `${what}: ${count}`).join(', ');
}

export const corruptSegmentScenarios: Scenario[] = [
  {
    name: 'CorruptSegment.randomWrites',
    description: 'a hostile process writes random bytes into the live segment under traffic, then stops',
    defaultDurationMs: 15_000,
    run: runCorrupt,
  },
];
