import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SharedSegment } from '@phoenix-ipc/native-shm';
import { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { hasExited, waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { IpcServer, type IpcServer as IpcServerType, Priority } from '../src/index.js';
import { ECHO, ENV_OF, EXITS, WHO } from './fixtures/handlers.mjs';
import {
  expectEachRanOnce,
  failure,
  Harness,
  poisonBehindBacklog,
  segmentsWithPrefix,
  WORKER_SCRIPT,
} from './harness.js';

// Warm spare workers (spareWorkers): booted, parked, and handed a dead or
// retiring worker's index at once. Real processes, real SIGKILLs.
const text = new TextDecoder();
const harness = new Harness();
afterEach(() => harness.cleanup());
const scratch = mkdtempSync(join(tmpdir(), 'phx-spares-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;

interface Restart {
  group: string;
  workerIndex: number;
  pid: number;
  spare: boolean;
}

async function start(
  options: object = {},
  env: NodeJS.ProcessEnv = {},
): Promise<{ server: IpcServerType; name: string; restarts: Restart[] }> {
  const name = harness.name('spare');
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const server = harness.track(
      await IpcServer.create(name, {
        normalWorkers: 1,
        vipWorkers: 0,
        maxClients: 2,
        restartBackoff: { initialMs: 20 },
        ...options,
      }),
    );
    const restarts: Restart[] = [];
    server.on('workerRestart', (detail: Restart) => restarts.push(detail));
    await server.start(WORKER_SCRIPT, [name]);
    return { server, name, restarts };
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

function readySpares(server: IpcServerType, group: 'normal' | 'vip' = 'normal'): number {
  return server.getSpareStats()[group].ready;
}

describe('the spareWorkers option', () => {
  it.each([[-1], [1.5], ['1'], [17]])('rejects spareWorkers %j with ERR_PHOENIX_INVALID_ARGUMENT', async (value) => {
    const error = await failure(IpcServer.create(harness.name('spare-bad'), { spareWorkers: value as number }));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain('spareWorkers');
  });

  it('keeps one ready spare per group that has workers by default, and publishes the count in the segment', async () => {
    const { server, name } = await start({ normalWorkers: 2, vipWorkers: 1 });
    await waitUntil(() => readySpares(server, 'normal') === 1 && readySpares(server, 'vip') === 1, 20_000, 'spares');
    const stats = server.getSpareStats();
    expect(stats.normal).toMatchObject({ ready: 1, booting: 0 });
    expect(stats.vip).toMatchObject({ ready: 1, booting: 0 });
    const workerPids = server.getWorkerStats().map((s) => s.pid);
    for (const pid of [...stats.normal.pids, ...stats.vip.pids]) {
      expect(hasExited(pid)).toBe(false);
      expect(workerPids).not.toContain(pid);
    }
    const segment = SharedSegment.open(name);
    try {
      const layout = PhoenixShmLayout.attach(segment.buffer);
      expect([layout.sparesReady('normal'), layout.sparesReady('vip')]).toEqual([1, 1]);
    } finally {
      segment.close();
    }
  });

  it('starts workers and spares with --no-memory-reducer, ahead of the supervisor’s own flags', async () => {
    // Idle must cost nothing: without it V8 compacts each worker's heap ~8 s after it goes idle.
    const { server } = await start();
    await waitUntil(() => readySpares(server, 'normal') === 1, 20_000, 'spare');
    const pids = [server.getWorkerStats()[0]!.pid, ...server.getSpareStats().normal.pids];
    for (const pid of pids) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 2 + process.execArgv.length)).toEqual(['--no-memory-reducer', ...process.execArgv]);
    }
  });

  it('keeps none for a group without workers, and none at all with spareWorkers: 0', async () => {
    const { server } = await start({ vipWorkers: 0, spareWorkers: 2 });
    await waitUntil(() => readySpares(server) === 2, 20_000, 'two normal spares');
    expect(server.getSpareStats().vip).toMatchObject({ ready: 0, booting: 0 });
    const off = await start({ spareWorkers: 0 });
    expect(off.server.getSpareStats()).toEqual({
      normal: { ready: 0, booting: 0, pids: [] },
      vip: { ready: 0, booting: 0, pids: [] },
    });
  });

  it('stops its spares with the server: no process and no segment left', async () => {
    const { server, name } = await start();
    await waitUntil(() => readySpares(server) === 1, 20_000, 'a spare');
    const sparePid = server.getSpareStats().normal.pids[0]!;
    await server.stop();
    await waitUntil(() => hasExited(sparePid), 10_000, 'the spare to exit');
    expect(segmentsWithPrefix(name)).toEqual([]);
  });

  it('replaces a spare that dies while it waits, without reporting a worker crash', async () => {
    const { server } = await start();
    const crashes: unknown[] = [];
    server.on('workerCrash', (detail) => crashes.push(detail));
    await waitUntil(() => readySpares(server) === 1, 20_000, 'a spare');
    const first = server.getSpareStats().normal.pids[0]!;
    process.kill(first, 'SIGKILL');
    await waitUntil(
      () => readySpares(server) === 1 && server.getSpareStats().normal.pids[0] !== first,
      20_000,
      'another spare',
    );
    expect(crashes).toEqual([]);
  });
});

describe('a worker that dies while a spare is ready', () => {
  it('hands its index to the spare at once: workerRestart says spare: true, stats show the spare serving it', async () => {
    const { server, restarts } = await start();
    await waitUntil(() => readySpares(server) === 1, 20_000, 'a spare');
    const sparePid = server.getSpareStats().normal.pids[0]!;
    const deadPid = server.getWorkerStats()[0]!.pid;
    process.kill(deadPid, 'SIGKILL');
    await waitUntil(() => restarts.length === 1, 10_000, 'the takeover');
    expect(restarts[0]).toMatchObject({ group: 'normal', workerIndex: 0, pid: sparePid, spare: true });
    expect(server.getWorkerStats()[0]).toMatchObject({ pid: sparePid, spare: true, alive: true, state: 'running' });
    // The former spare knows the index it serves (getWorkerInfo()).
    const who = text.decode((await server.call(WHO, '', { timeoutMs: 10_000 })).payload);
    expect(who).toBe(`${sparePid} normal 0`);
    // The pool refills in the background.
    await waitUntil(() => readySpares(server) === 1, 20_000, 'a new spare');
    expect(server.getSpareStats().normal.pids).not.toContain(sparePid);
  });

  it('fails the poison and serves every request queued on the dead channel exactly once, by the spare', async () => {
    const { server, restarts } = await start();
    await waitUntil(() => readySpares(server) === 1, 20_000, 'a spare');
    const log = join(scratch, `log-${++files}`);
    // The worker is busy: these wait in its rings, with its doorbell rung, when it dies.
    const { poison, replies } = await poisonBehindBacklog(server, log, { count: 50 });
    expect(poison.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `${i}`));
    // The spare serves its backlog before it tells the supervisor it is ready: the event may follow the replies.
    await waitUntil(() => restarts.length > 0, 10_000, 'the restart event');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]!.spare).toBe(true);
    expectEachRanOnce(log, 50);
  });

  it('survives a spare that dies during the handover: the index is served again and nothing queued is lost', async () => {
    const marker = join(scratch, `die-on-take-${++files}`);
    const { server, restarts } = await start({ spareWorkers: 2 }, { PHX_DIE_ON_TAKE: marker });
    const crashes: { pid: number }[] = [];
    server.on('workerCrash', (detail: { pid: number }) => crashes.push(detail));
    await waitUntil(() => readySpares(server) === 2, 20_000, 'two spares');
    const log = join(scratch, `log-${++files}`);
    const { poison } = await poisonBehindBacklog(server, log, { count: 20, holdMs: 100 });
    expect(poison.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    // The first spare died on taking over (a crash of index 0), the next one serves.
    const diedOnTake = Number(readFileSync(marker, 'utf8'));
    expect(crashes.map((c) => c.pid)).toContain(diedOnTake);
    const serving = server.getWorkerStats()[0]!;
    expect(serving.pid).not.toBe(diedOnTake);
    await waitUntil(() => restarts.at(-1)?.pid === serving.pid, 10_000, "the serving spare's restart event");
    expectEachRanOnce(log, 20);
  });

  it('with two indexes dead at once and one spare: one takes it, the other the next spare to finish booting; both serve', async () => {
    // A cold restart would wait the backoff (a minute): the second index must not.
    const { server, restarts } = await start({
      normalWorkers: 2,
      restartBackoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    await waitUntil(() => readySpares(server) === 1, 20_000, 'a spare');
    const spare = server.getSpareStats().normal.pids[0]!;
    const pids = server.getWorkerStats().map((s) => s.pid);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitUntil(() => restarts.length === 2, 20_000, 'both indexes replaced');
    expect(restarts.map((r) => r.workerIndex).sort()).toEqual([0, 1]);
    expect(restarts[0]).toMatchObject({ pid: spare, spare: true });
    // The second waited for the spare booted in the first one's place, not for a process of its own.
    expect(restarts[1]!.spare).toBe(true);
    expect(restarts[1]!.pid).not.toBe(spare);
    for (const s of server.getWorkerStats()) expect(s).toMatchObject({ alive: true, state: 'running' });
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => server.call(ECHO, `e${i}`, { timeoutMs: 10_000 })),
    );
    expect(replies.map((r) => text.decode(r.payload))).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`));
  });

  it("borrows the other group's ready spare at once when its own group has none ready", async () => {
    const { server, restarts } = await start({ vipWorkers: 2, restartBackoff: { initialMs: 60_000, maxMs: 60_000 } });
    await waitUntil(() => readySpares(server, 'normal') === 1 && readySpares(server, 'vip') === 1, 20_000, 'spares');
    const spares = server.getSpareStats();
    const vipPids = server
      .getWorkerStats()
      .filter((s) => s.group === 'vip')
      .map((s) => s.pid);
    for (const pid of vipPids) process.kill(pid, 'SIGKILL');
    await waitUntil(() => restarts.length === 2, 20_000, 'both VIP indexes replaced');
    expect(restarts.map((r) => [r.group, r.spare])).toEqual([
      ['vip', true],
      ['vip', true],
    ]);
    expect(restarts.map((r) => r.pid).sort()).toEqual([spares.normal.pids[0], spares.vip.pids[0]].sort());
    const reply = await server.call(ECHO, 'vip again', { priority: Priority.High, timeoutMs: 10_000 });
    expect(text.decode(reply.payload)).toBe('vip again');
  });

  it('gives up on a spare that hangs while it boots (startTimeoutMs): the dead index gets a fresh process', async () => {
    const { server, restarts } = await start({ startTimeoutMs: 3000 }, { PHX_SPARE_HANGS: '1' });
    expect(server.getSpareStats().normal).toMatchObject({ ready: 0, booting: 1 });
    const hung = server.getSpareStats().normal.pids[0]!;
    process.kill(server.getWorkerStats()[0]!.pid, 'SIGKILL');
    await waitUntil(() => restarts.length === 1, 20_000, 'the index replaced');
    expect(restarts[0]).toMatchObject({ workerIndex: 0, spare: false });
    expect(hasExited(hung)).toBe(true);
    const reply = await server.call(ECHO, 'served', { timeoutMs: 10_000 });
    expect(text.decode(reply.payload)).toBe('served');
  });

  it('stops booting spares after failed boots in a row, and restartWorkers() has it try again', async () => {
    const broken = join(scratch, `spares-broken-${++files}`);
    writeFileSync(broken, '');
    const failedBoots = () =>
      existsSync(`${broken}.log`) ? readFileSync(`${broken}.log`, 'utf8').split('\n').length - 1 : 0;
    // In this process's environment for the whole test: spares are forked long after start() returns.
    process.env.PHX_SPARE_FAILS_WHILE = broken;
    try {
      const { server } = await start({ crashLoop: { maxCrashes: 2, windowMs: 60_000 } });
      // maxCrashes failed boots in a row: the pool gives up (no refill is pending).
      await waitUntil(
        () => failedBoots() === 2 && server.getSpareStats().normal.booting === 0,
        20_000,
        'two failed spare boots',
      );
      expect(server.getSpareStats().normal.ready).toBe(0);
      // The deploy is fixed; restartWorkers() is the operator's way to start over, spares included.
      rmSync(broken);
      await server.restartWorkers();
      await waitUntil(() => server.getSpareStats().normal.ready === 1, 20_000, 'a spare after restartWorkers()');
      expect(failedBoots()).toBe(2);
    } finally {
      delete process.env.PHX_SPARE_FAILS_WHILE;
    }
  });

  it('still leaves a crash-looping index down: spares do not outrun the crash-loop limit', async () => {
    const { server } = await start({ spareWorkers: 2, crashLoop: { maxCrashes: 2, windowMs: 60_000 } });
    await waitUntil(() => readySpares(server) === 2, 20_000, 'two spares');
    for (let i = 0; i < 3; i++) {
      await waitUntil(() => server.getWorkerStats()[0]!.state === 'running', 20_000, 'a serving worker');
      await failure(server.call(EXITS, '', { timeoutMs: 10_000 }));
    }
    await waitUntil(() => server.getWorkerStats()[0]!.state === 'down', 10_000, 'the index to be down');
    expect(server.getWorkerStats()[0]).toMatchObject({ down: true, alive: false, crashes: 3 });
  });
});

describe('the workerEnv option', () => {
  it('is the environment of workers and of the spares that take over: variables set, and left out where undefined', async () => {
    const envOf = async (server: IpcServerType, variable: string) =>
      text.decode((await server.call(ENV_OF, variable, { timeoutMs: 10_000 })).payload);
    const { server, restarts } = await start(
      { workerEnv: { ...process.env, PHX_TEST_GIVEN: 'given', PHX_TEST_DROPPED: undefined } },
      { PHX_TEST_DROPPED: 'inherited' },
    );
    expect(await envOf(server, 'PHX_TEST_GIVEN')).toBe('given');
    expect(await envOf(server, 'PHX_TEST_DROPPED')).toBe('(unset)');
    // A spare was started with the same environment.
    await waitUntil(() => readySpares(server) === 1, 20_000, 'a spare');
    process.kill(server.getWorkerStats()[0]!.pid, 'SIGKILL');
    await waitUntil(() => restarts.length === 1, 10_000, 'the takeover');
    expect(restarts[0]!.spare).toBe(true);
    expect(await envOf(server, 'PHX_TEST_GIVEN')).toBe('given');
    expect(await envOf(server, 'PHX_TEST_DROPPED')).toBe('(unset)');
  });
});

describe('planned replacements with spares', () => {
  it('restartWorkers() hands each index to a ready spare', async () => {
    const { server, restarts } = await start({ normalWorkers: 2, spareWorkers: 2 });
    await waitUntil(() => readySpares(server) === 2, 20_000, 'two spares');
    const spares = server.getSpareStats().normal.pids;
    await server.restartWorkers();
    expect(restarts.map((r) => r.spare)).toEqual([true, true]);
    expect(
      server
        .getWorkerStats()
        .map((s) => s.pid)
        .sort(),
    ).toEqual([...spares].sort());
    expect(text.decode((await server.call(ECHO, 'after', { timeoutMs: 10_000 })).payload)).toBe('after');
  });
});
