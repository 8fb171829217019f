import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcClient } from '@phoenix-ipc/client';
import { sleep, waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { IpcServer } from '../src/index.js';
import {
  BALLAST,
  ECHO,
  EXITS,
  HANGS,
  KILLS_SELF,
  LOG_ONCE,
  OOM,
  SEGFAULTS,
  SLEEP_SYNC,
  THROWS_LATER,
  WHO,
} from './fixtures/handlers.mjs';
import { busyWorkers, expectEachRanOnce, failure, Harness, poisonBehindBacklog, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());
const scratch = mkdtempSync(join(tmpdir(), 'phx-crash-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let logs = 0;

async function start(options: object = {}): Promise<{ server: IpcServer; name: string }> {
  const name = harness.name('crash');
  const server = harness.track(
    await IpcServer.create(name, {
      normalWorkers: 1,
      vipWorkers: 0,
      maxClients: 2,
      restartBackoff: { initialMs: 20 },
      ...options,
    }),
  );
  await server.start(WORKER_SCRIPT, [name]);
  return { server, name };
}

describe('a worker that dies while processing a request (the poison)', () => {
  it.each([
    ['process.exit(3)', EXITS, { signal: null, exitCode: 3 }, 'exit code 3'],
    ['SIGSEGV', SEGFAULTS, { signal: 'SIGSEGV', exitCode: null }, 'SIGSEGV'],
    ['SIGKILL (e.g. the OOM killer)', KILLS_SELF, { signal: 'SIGKILL', exitCode: null }, 'SIGKILL'],
  ])(
    'fails the poison with ERR_PHOENIX_WORKER_CRASHED on %s, with the crash facts',
    async (_what, funcId, facts, words) => {
      const { server } = await start();
      const pid = server.getWorkerStats()[0]!.pid;
      const error = await failure(server.call(funcId, '', { timeoutMs: 10_000 }));
      expect(error.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
      expect(error).toMatchObject({ group: 'normal', workerIndex: 0, pid, reason: 'exit', attempt: 1, ...facts });
      expect(error.message).toContain(words);
      expect(typeof error.seqId).toBe('number');
    },
  );

  it('counts the crash, starts a replacement on the same index, and serves again', async () => {
    const { server } = await start();
    const before = server.getWorkerStats()[0]!;
    await failure(server.call(EXITS, ''));
    await waitUntil(() => server.getWorkerStats()[0]!.alive, 10_000, 'the replacement');
    const after = server.getWorkerStats()[0]!;
    expect(after.index).toBe(0);
    expect(after.pid).not.toBe(before.pid);
    expect(after.crashes).toBe(1);
    expect(after.restarts).toBe(1);
    expect(text.decode((await server.call(ECHO, 'alive')).payload)).toBe('alive');
  });

  it('serves every request queued behind the poison exactly once (single worker: they wait for the replacement)', async () => {
    const { server } = await start();
    const log = join(scratch, `log-${++logs}`);
    const { poison, replies } = await poisonBehindBacklog(server, log, { count: 50 });
    expect(poison.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `${i}`));
    expectEachRanOnce(log, 50);
  });

  it('moves the requests queued to a dead worker to a live sibling, each served exactly once', async () => {
    // The replacement would only start after a minute: whatever is served, the sibling served.
    const { server } = await start({
      normalWorkers: 2,
      spareWorkers: 0,
      restartBackoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    const log = join(scratch, `log-${++logs}`);
    // Both workers busy; then the poison and a queue spread over both.
    const { poison } = await poisonBehindBacklog(server, log, { count: 40, busy: 2, holdMs: 200 });
    expect(poison.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    // Served with the dead worker not yet replaced: by the live sibling.
    expect(server.getWorkerStats().filter((s) => s.alive)).toHaveLength(1);
    expect(server.getWorkerStats().reduce((sum, s) => sum + s.restarts, 0)).toBe(0);
    expectEachRanOnce(log, 40);
  });

  it('fails the poison of a client, through the supervisor, and the client goes on', async () => {
    const { name } = await start();
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    const error = await failure(client.call(SEGFAULTS, '', { timeoutMs: 10_000 }));
    expect(error.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    expect(error.signal).toBe('SIGSEGV');
    expect(text.decode((await client.call(ECHO, 'next', { timeoutMs: 10_000 })).payload)).toBe('next');
  });

  it('treats an uncaught exception outside a handler as a crash', async () => {
    const { server } = await start();
    await server.call(THROWS_LATER, '');
    await waitUntil(() => server.getWorkerStats()[0]!.crashes === 1, 10_000, 'the crash');
    await waitUntil(() => server.getWorkerStats()[0]!.alive, 10_000, 'the replacement');
    expect(text.decode((await server.call(ECHO, 'ok')).payload)).toBe('ok');
  });

  it('turns a worker running out of heap (workerMaxOldSpaceMb) into a crash, reason exit', async () => {
    const { server } = await start({ workerMaxOldSpaceMb: 32 });
    const error = await failure(server.call(OOM, '', { timeoutMs: 30_000 }));
    expect(error.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    expect(error.reason).toBe('exit');
    await waitUntil(() => server.getWorkerStats()[0]!.alive, 10_000, 'the replacement');
    expect(text.decode((await server.call(ECHO, 'fine')).payload)).toBe('fine');
  }, 60_000);

  it('notices a worker killed from outside (SIGKILL) at once and replaces it', async () => {
    const { server } = await start();
    const pid = server.getWorkerStats()[0]!.pid;
    const pending = failure(server.call(SLEEP_SYNC, '2000', { timeoutMs: 10_000 }));
    await waitUntil(() => busyWorkers(server) === 1, 10_000, 'the call to be running');
    process.kill(pid, 'SIGKILL');
    const error = await pending;
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_WORKER_CRASHED', signal: 'SIGKILL', reason: 'exit', pid });
    await waitUntil(
      () => server.getWorkerStats()[0]!.alive && server.getWorkerStats()[0]!.pid !== pid,
      10_000,
      'the replacement',
    );
  });
});

describe('a worker that dies with replies staged (replyBatch)', () => {
  it.each([16, 1])(
    'gives the requests it ran before the poison their replies, fails the poison, serves the rest (replyBatch %i)',
    async (replyBatch) => {
      const { server, name } = await start({ replyBatch, spareWorkers: 0 });
      const crashes: { stagedRepliesPublished: number }[] = [];
      server.on('workerCrash', (detail) => crashes.push(detail));
      const client = harness.track(IpcClient.create(name));
      await client.connect(5000);
      // The first call holds the worker for 100 ms (it goes out at once: nothing
      // else is in flight); the five after it, issued in the same tick, are all
      // in the ring when the worker comes back. So it stages the hold's reply
      // and the next two, and dies on the third.
      const calls = [
        client.call(SLEEP_SYNC, '100', { timeoutMs: 10_000 }),
        client.call(ECHO, 'first', { timeoutMs: 10_000 }),
        client.call(ECHO, 'second', { timeoutMs: 10_000 }),
        client.call(KILLS_SELF, '', { timeoutMs: 10_000 }),
        client.call(ECHO, 'fourth', { timeoutMs: 10_000 }),
        client.call(ECHO, 'fifth', { timeoutMs: 10_000 }),
      ];
      const outcomes = await Promise.allSettled(calls);
      const replies = outcomes.map((outcome) =>
        outcome.status === 'fulfilled' ? text.decode(outcome.value.payload) : (outcome.reason as { code: string }).code,
      );
      expect(replies).toEqual(['', 'first', 'second', 'ERR_PHOENIX_WORKER_CRASHED', 'fourth', 'fifth']);
      // Staged and published by recovery with a batch; out before the crash one at a time.
      expect(crashes.map((crash) => crash.stagedRepliesPublished)).toEqual([replyBatch > 1 ? 3 : 0]);
    },
  );
});

describe('noticing a crash early', () => {
  it('reports a worker killed by a signal while the kernel is still tearing it down, not once it is reaped', async () => {
    const { server } = await start();
    const pid = server.getWorkerStats()[0]!.pid;
    // 400 MB for the kernel to release after the kill: tens of ms between
    // the worker's death beginning and its end (a loaded worker's teardown,
    // stretched by a busy machine, is of that order).
    await server.call(BALLAST, '400', { timeoutMs: 30_000 });
    const reports: { pid: number; signal: string | null; stillThere: boolean }[] = [];
    server.on('workerCrash', (detail: { pid: number; signal: string | null }) => {
      reports.push({ pid: detail.pid, signal: detail.signal, stillThere: existsSync(`/proc/${detail.pid}`) });
    });
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => reports.length > 0, 10_000, 'the crash report');
    expect(reports).toEqual([{ pid, signal: 'SIGKILL', stillThere: true }]);
    await waitUntil(() => !existsSync(`/proc/${pid}`), 10_000, 'the dead worker to be reaped');
  });
});

describe('hangs', () => {
  it('kills a worker whose handler runs longer than hangTimeoutMs and answers with reason hang', async () => {
    const { server } = await start({ hangTimeoutMs: 400 });
    const started = Date.now();
    const error = await failure(server.call(HANGS, '', { timeoutMs: 20_000 }));
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_WORKER_CRASHED', reason: 'hang', signal: 'SIGKILL' });
    expect(error.message).toMatch(/\bhang\b/);
    expect(error.message).toContain('SIGKILL');
    // Never before the timeout; how soon after it is judged by the stress app (Hang.*: hangTimeoutMs + 1 s).
    expect(elapsed).toBeGreaterThanOrEqual(400);
    await waitUntil(() => server.getWorkerStats()[0]!.alive, 10_000, 'the replacement');
    expect(server.getWorkerStats()[0]!.crashes).toBe(1);
  });

  it('shows the running request in getWorkerStats while it runs', async () => {
    const { server } = await start();
    const pending = server.call(SLEEP_SYNC, '300');
    await waitUntil(() => server.getWorkerStats()[0]!.inFlightSeqId !== 0, 10_000, 'the call to be running');
    expect(server.getWorkerStats()[0]!.inFlightSeqId).toBeGreaterThan(0);
    const reply = await pending;
    expect(reply.seqId).toBeGreaterThan(0);
  });
});

describe('poison policy', () => {
  it('re-runs the poison on a fresh worker with onWorkerCrash { retries: n }, then fails it (attempt n + 1)', async () => {
    const { server } = await start({ onWorkerCrash: { retries: 2 } });
    const error = await failure(server.call(EXITS, '', { timeoutMs: 20_000 }));
    expect(error.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    expect(error.attempt).toBe(3);
    expect(server.getWorkerStats()[0]!.crashes).toBe(3);
  });

  it('fails the poison ERR_PHOENIX_WORKER_CRASHED, not UNAVAILABLE, when the crash it caused leaves its group down', async () => {
    const { server } = await start({
      onWorkerCrash: { retries: 1 },
      crashLoop: { maxCrashes: 2, windowMs: 60_000 },
      restartBackoff: { initialMs: 10, maxMs: 50 },
    });
    // Two crashes (attempts 1 and 2), then a third that trips the crash-loop limit: its poison ran, it cannot retry.
    expect((await failure(server.call(EXITS, '', { timeoutMs: 20_000 }))).attempt).toBe(2);
    await waitUntil(() => server.getWorkerStats()[0]!.alive, 10_000, 'the replacement');
    const error = await failure(server.call(EXITS, '', { timeoutMs: 20_000 }));
    expect(error.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    expect(error).toMatchObject({ group: 'normal', workerIndex: 0, attempt: 1, reason: 'exit' });
    expect(server.getWorkerStats()[0]!.down).toBe(true);
    expect((await failure(server.call(ECHO, 'x'))).code).toBe('ERR_PHOENIX_UNAVAILABLE');
  });

  it('never re-runs the poison by default', async () => {
    const { server } = await start();
    const log = join(scratch, `log-${++logs}`);
    const error = await failure(server.call(EXITS, '', { timeoutMs: 10_000 }));
    expect(error.attempt).toBe(1);
    await waitUntil(() => server.getWorkerStats()[0]!.alive, 10_000, 'the replacement');
    await server.call(LOG_ONCE, `${log}\tafter`);
    expect(server.getWorkerStats()[0]!.crashes).toBe(1);
  });
});

describe('restart backoff and crash loops', () => {
  it('leaves a crash-looping worker down, marks it so, and fails calls to its empty group with ERR_PHOENIX_UNAVAILABLE', async () => {
    const { server } = await start({
      crashLoop: { maxCrashes: 2, windowMs: 60_000 },
      restartBackoff: { initialMs: 10, maxMs: 50 },
    });
    for (let i = 0; i < 3; i++) {
      await failure(server.call(EXITS, '', { timeoutMs: 10_000 }));
      if (i < 2) await waitUntil(() => server.getWorkerStats()[0]!.alive, 10_000, 'the replacement');
    }
    await waitUntil(() => server.getWorkerStats()[0]!.down, 5000, 'the worker to be left down');
    const stats = server.getWorkerStats()[0]!;
    expect(stats.state).toBe('down');
    expect(stats.alive).toBe(false);
    expect(stats.crashes).toBe(3);
    expect((await failure(server.call(ECHO, 'x'))).code).toBe('ERR_PHOENIX_UNAVAILABLE');
    // A client in another process sees the same state in the segment.
    await server.restartWorkers();
    expect(server.getWorkerStats()[0]).toMatchObject({ alive: true, down: false, state: 'running' });
    expect(text.decode((await server.call(ECHO, 'back')).payload)).toBe('back');
  });

  it('keeps the group serving with the remaining workers while one is down', async () => {
    const { server } = await start({
      normalWorkers: 2,
      crashLoop: { maxCrashes: 1, windowMs: 60_000 },
      restartBackoff: { initialMs: 10 },
    });
    const victim = server.getWorkerStats()[0]!.pid;
    process.kill(victim, 'SIGKILL');
    await waitUntil(
      () => server.getWorkerStats()[0]!.alive && server.getWorkerStats()[0]!.pid !== victim,
      10_000,
      'the replacement',
    );
    process.kill(server.getWorkerStats()[0]!.pid, 'SIGKILL');
    await waitUntil(() => server.getWorkerStats()[0]!.down, 10_000, 'worker 0 to be down');
    for (let i = 0; i < 5; i++) {
      expect(text.decode((await server.call(WHO, '')).payload)).toMatch(/ normal 1$/);
    }
  });

  it('moves the queue of a worker left down while its only sibling was restarting, once the sibling serves again', async () => {
    const { server } = await start({
      normalWorkers: 2,
      spareWorkers: 0,
      crashLoop: { maxCrashes: 1, windowMs: 60_000 },
      restartBackoff: { initialMs: 1500, maxMs: 1500 },
    });
    const stats = () => server.getWorkerStats();
    // Worker 0 crashes once and comes back.
    const first = stats()[0]!.pid;
    process.kill(first, 'SIGKILL');
    await waitUntil(() => stats()[0]!.alive && stats()[0]!.pid !== first, 10_000, 'worker 0 back');
    // Worker 1 crashes once and waits out its backoff: worker 0 is the only one serving.
    process.kill(stats()[1]!.pid, 'SIGKILL');
    await waitUntil(() => stats()[1]!.state === 'restarting', 5000, 'worker 1 restarting');
    // Calls queue on worker 0 behind a slow one; its second crash leaves it down with no running sibling.
    const slow = server.call(SLEEP_SYNC, '300', { timeoutMs: 20_000 }).catch((error: unknown) => error);
    const queued = Array.from({ length: 5 }, (_, i) => server.call(ECHO, `q${i}`, { timeoutMs: 20_000 }));
    process.kill(stats()[0]!.pid, 'SIGKILL');
    await waitUntil(() => stats()[0]!.down, 5000, 'worker 0 down');
    // Worker 1 serves again after its backoff, and the queue left behind moves to it.
    const replies = await Promise.all(queued);
    expect(replies.map((reply) => text.decode(reply.payload))).toEqual(['q0', 'q1', 'q2', 'q3', 'q4']);
    await slow;
    expect(stats()[1]!.state).toBe('running');
  }, 30_000);

  it('restarts with growing delays (no spares: every replacement is a fresh process)', async () => {
    const { server } = await start({ spareWorkers: 0, restartBackoff: { initialMs: 100, factor: 4, maxMs: 10_000 } });
    const delays: number[] = [];
    for (let i = 0; i < 2; i++) {
      await failure(server.call(EXITS, '', { timeoutMs: 10_000 }));
      const died = Date.now();
      await waitUntil(() => server.getWorkerStats()[0]!.alive, 10_000, 'the replacement');
      delays.push(Date.now() - died);
    }
    expect(delays[0]).toBeGreaterThanOrEqual(90);
    expect(delays[1]).toBeGreaterThanOrEqual(390);
  });
});

describe('planned replacements', () => {
  it('restartWorkers() replaces every worker one at a time, with zero failed calls under steady load', async () => {
    const { server } = await start({ normalWorkers: 2, vipWorkers: 1 });
    const before = server.getWorkerStats().map((s) => s.pid);
    let failed = 0;
    let ok = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        await server.call(ECHO, 'load', { timeoutMs: 20_000 }).then(
          () => ok++,
          () => failed++,
        );
        if (failed > 0) await sleep(1); // not an ordering wait: never starve the event loop on quick failures
      }
    })();
    const load2 = (async () => {
      while (running) {
        await server.call(WHO, '', { priority: 1, timeoutMs: 20_000 }).then(
          () => ok++,
          () => failed++,
        );
        if (failed > 0) await sleep(1);
      }
    })();
    await waitUntil(() => ok >= 50, 10_000, 'the load to be flowing');
    await server.restartWorkers();
    const okAtRestart = ok;
    await waitUntil(() => ok >= okAtRestart + 50, 10_000, 'the load to flow on after the restart');
    running = false;
    await Promise.all([load, load2]);
    const after = server.getWorkerStats();
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(100);
    after.forEach((entry, i) => {
      expect(entry.pid).not.toBe(before[i]);
      expect(entry.restarts).toBe(1);
      expect(entry.crashes).toBe(0);
    });
  });

  it('recycles a worker after recycleAfter.calls, with no failed call', async () => {
    const { server } = await start({ recycleAfter: { calls: 100 } });
    const first = server.getWorkerStats()[0]!.pid;
    const replies = await Promise.all(
      Array.from({ length: 400 }, (_, i) => server.call(ECHO, `${i}`, { timeoutMs: 20_000 })),
    );
    expect(replies).toHaveLength(400);
    await waitUntil(() => server.getWorkerStats()[0]!.restarts >= 1, 10_000, 'a recycle');
    expect(server.getWorkerStats()[0]!.crashes).toBe(0);
    expect(server.getWorkerStats()[0]!.pid).not.toBe(first);
  });
});
