import { constants } from 'node:os';
import { IpcClient } from '@phoenix-ipc/client';
import { mallocStats } from '@phoenix-ipc/native-shm';
import { processesMentioning, sleep, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer, type PhoenixError, Priority } from '../src/index.js';
import { ECHO, SLEEP_SYNC, WHO } from './fixtures/handlers.mjs';
import { busyWorkers, CLIENT_SCRIPT, Harness, segmentsWithPrefix, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());

/** The server counts no client any more, and a newcomer is admitted and served. */
async function expectSlotsHandedBack(server: IpcServer, name: string): Promise<void> {
  await waitUntil(() => server.metrics().clients === 0, 5000, 'every slot handed back');
  const newcomer = harness.track(IpcClient.create(name));
  await newcomer.connect(5000);
  expect(text.decode((await newcomer.call(ECHO, 'admitted')).payload)).toBe('admitted');
}

describe('many client processes', () => {
  it('serves 4 client processes x 5000 calls, every reply reaching the caller that sent the request', async () => {
    const name = harness.name('many');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 2, vipWorkers: 1, maxClients: 4 }));
    await server.start(WORKER_SCRIPT, [name]);
    const clients = Array.from({ length: 4 }, () => harness.script(CLIENT_SCRIPT, [name, 'echo', '5000']));
    const results = await Promise.all(clients.map((client) => client.waitFor('done', 120_000)));
    for (const result of results) expect(result.done).toEqual({ ok: 5000, bad: 0 });
    // The supervisor's own calls share the workers with the clients.
    expect(text.decode((await server.call(ECHO, 'mine')).payload)).toBe('mine');
  }, 180_000);

  it('hands a slot back when a client disconnects, and admits a new client into it', async () => {
    const name = harness.name('reuse');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1 }));
    await server.start(WORKER_SCRIPT, [name]);
    for (let round = 0; round < 5; round++) {
      const client = harness.track(IpcClient.create(name));
      await client.connect(5000);
      expect(text.decode((await client.call(ECHO, `round ${round}`)).payload)).toBe(`round ${round}`);
      await client.disconnect();
    }
  });

  it('lets a client instance connect again after disconnect', async () => {
    const name = harness.name('again');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    await client.disconnect();
    await client.connect(5000);
    expect(client.getState()).toBe('connected');
    expect(text.decode((await client.call(ECHO, 'back')).payload)).toBe('back');
  });

  it('does not keep its process alive once its calls have settled, though still connected', async () => {
    const name = harness.name('idle-exit');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1 }));
    await server.start(WORKER_SCRIPT, [name]);
    const client = harness.script(CLIENT_SCRIPT, [name, 'then-idle', '500']);
    expect((await client.waitFor('idle', 30_000)).idle).toBe(500);
    expect(await client.exited).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['at once', () => Promise.resolve()],
    ['a macrotask later', () => new Promise<void>((resolve) => setImmediate(resolve))],
    ['1 ms later', () => sleep(1)],
    ['3 ms later', () => sleep(3)],
  ])('hands the slot back when disconnect() comes %s during connect()', async (_when, pause) => {
    const name = harness.name('cancel');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1 }));
    await server.start(WORKER_SCRIPT, [name]);
    for (let round = 0; round < 10; round++) {
      const client = harness.track(IpcClient.create(name));
      const connecting = client.connect(5000);
      await pause();
      await client.disconnect();
      // Either the handshake finished first (and the connection was left) or it was cut short.
      await connecting.catch((error: PhoenixError) => expect(error.code).toBe('ERR_PHOENIX_NOT_CONNECTED'));
      expect(client.getState()).toBe('disconnected');
      expect(client.slot).toBe(-1);
    }
    await expectSlotsHandedBack(server, name);
  });

  it('fails connect() ERR_PHOENIX_SYSCALL_FAILED (EMFILE) in a process with no fds for the doorbells, and hands the slot back', async () => {
    const name = harness.name('nofds');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 4, vipWorkers: 0, maxClients: 1 }));
    await server.start(WORKER_SCRIPT, [name]);
    // Four free fds: the segment and the control socket fit, the welcome's five doorbells do not.
    const starved = harness.script(CLIENT_SCRIPT, [name, 'few-fds', '4', '5000'], {}, { fdLimit: 128 });
    const failed = await starved.waitFor('connectFailed', 20_000);
    expect(failed).toMatchObject({ connectFailed: 'ERR_PHOENIX_SYSCALL_FAILED', errno: constants.errno.EMFILE });
    expect(failed.message).toMatch(/file descriptors/);
    expect(failed.fdsAfter).toBe(failed.fdsBefore);
    await expectSlotsHandedBack(server, name);
  });

  it("gets every reply when its call observer throws; the throws are the process's, the worker is untouched", async () => {
    const name = harness.name('observer');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const [worker] = server.getWorkerStats();
    const client = harness.script(CLIENT_SCRIPT, [name, 'throwing-observer', '50']);
    expect((await client.waitFor('observed')).observed).toEqual({ ok: 50, uncaught: 50 });
    expect(server.getWorkerStats()[0]).toMatchObject({ pid: worker!.pid, crashes: 0, restarts: 0 });
  });

  it('answers callSync from a client', async () => {
    const name = harness.name('clientsync');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 1, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    expect(text.decode(client.callSync(ECHO, 'blocking').payload)).toBe('blocking');
    expect(text.decode(client.callSync(WHO, '', { priority: Priority.High }).payload)).toMatch(/ vip 0$/);
  });

  it('leaves no process and no /dev/shm entry after stop()', async () => {
    const name = harness.name('clean');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 2, vipWorkers: 2, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const pids = server.getWorkerStats().map((s) => s.pid);
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    await client.call(ECHO, 'x');
    await server.stop();
    expect(segmentsWithPrefix().map((entry) => `/${entry}`)).not.toContain(name);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(processesMentioning(name)).toEqual([]);
    await waitUntil(() => client.getState() === 'server-gone', 10_000, 'the client to see the server gone');
    expect(client.getState()).toBe('server-gone');
  });
});

describe("a client's memory for large replies (retainFreedMemoryMb)", () => {
  /** How much of 8 blocks of 512 KiB a connected client process's malloc mmapped block by block. */
  async function mmappedOf512KiBBlocks(retainFreedMemoryMb: number | 'default'): Promise<number> {
    const name = harness.name('heap');
    // Replies up to 1 MiB: a client asks malloc to serve blocks that large from its arenas.
    const server = harness.track(
      await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1, maxPayloadBytes: 1024 * 1024 }),
    );
    await server.start(WORKER_SCRIPT, [name]);
    const client = harness.script(CLIENT_SCRIPT, [name, 'heap', String(retainFreedMemoryMb)]);
    const { heap } = (await client.waitFor('heap')) as { heap: { mmappedBytes: number } };
    return heap.mmappedBytes;
  }

  it.runIf(mallocStats() !== null)(
    "serves blocks up to maxPayloadBytes from malloc's arenas once connected (default)",
    async () => {
      expect(await mmappedOf512KiBBlocks('default')).toBe(0);
    },
  );

  it.runIf(mallocStats() !== null)('leaves malloc alone with retainFreedMemoryMb 0', async () => {
    expect(await mmappedOf512KiBBlocks(0)).toBeGreaterThanOrEqual(4 * 1024 * 1024);
  });
});

describe('priorities', () => {
  it('serves a VIP call while the normal group is saturated with slow work', async () => {
    const name = harness.name('vip');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 2, vipWorkers: 1, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const order: string[] = [];
    const normal = Array.from({ length: 8 }, (_, i) =>
      server.call(SLEEP_SYNC, '150', { timeoutMs: 30_000 }).then(
        () => order.push(`normal${i}`),
        () => order.push(`failed${i}`),
      ),
    );
    await waitUntil(() => busyWorkers(server, 'normal') === 2, 10_000, 'both normal workers to be busy');
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    await client
      .call(WHO, '', Priority.High)
      .then((reply) => order.push(`vip ${text.decode(reply.payload).split(' ')[1]}`));
    await server.call(WHO, '', Priority.High).then(() => order.push('vip2'));
    await Promise.all(normal);
    // Eight 150 ms jobs on two workers take 600 ms; the VIP calls are answered before all but the first pair.
    expect(order.indexOf('vip vip')).toBeLessThan(3);
    expect(order.indexOf('vip2')).toBeLessThan(4);
  });

  it('dispatches to the least-loaded worker of the group', async () => {
    const name = harness.name('least');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 3, vipWorkers: 0 }));
    await server.start(WORKER_SCRIPT, [name]);
    const busy = Promise.all([server.call(SLEEP_SYNC, '300'), server.call(SLEEP_SYNC, '300')]).catch(() => undefined);
    await waitUntil(() => busyWorkers(server) === 2, 10_000, 'two workers to be busy');
    const who = text.decode((await server.call(WHO, '')).payload);
    // The worker ends its transaction just after publishing the reply.
    const whoPid = Number(who.split(' ')[0]);
    await waitUntil(
      () => server.getWorkerStats().find((s) => s.pid === whoPid)?.inFlightSeqId === 0,
      10_000,
      "the WHO worker's transaction to end",
    );
    const busyPids = server
      .getWorkerStats()
      .filter((s) => s.inFlightSeqId !== 0)
      .map((s) => s.pid);
    expect(busyPids).toHaveLength(2);
    expect(busyPids).not.toContain(Number(who.split(' ')[0]));
    await busy;
  });
});
