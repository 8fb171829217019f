// A supervisor that cannot watch a client's control connection (libuv has no
// memory for the watcher, made here with a mock of FdWatcher). It hangs up on
// that connection and keeps running. The client sees a hang-up before its
// welcome and tries again, and nothing stays open in the supervisor.
import { fdsOpenedSince, openFds, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IpcServer } from '../src/index.js';
import { ECHO } from './fixtures/handlers.mjs';
import { CLIENT_SCRIPT, Harness, WORKER_SCRIPT } from './harness.js';

/** Watchers on sockets still to fail as if libuv had no memory for them. */
const socketWatchFailures = vi.hoisted(() => ({ left: 0 }));

vi.mock('@phoenix-ipc/native-shm', async (importOriginal) => {
  const native = await importOriginal<typeof import('@phoenix-ipc/native-shm')>();
  const { fdWatcherThatMayFail } = await import('@phoenix-ipc/test-kit');
  const { fstatSync } = await import('node:fs');
  const onSocket = (fd: number) => fstatSync(fd).isSocket();
  return { ...native, FdWatcher: fdWatcherThatMayFail(native.FdWatcher, socketWatchFailures, onSocket) };
});

const harness = new Harness();
afterEach(() => harness.cleanup());

describe('a supervisor that cannot watch a client connection', () => {
  it('hangs up on it and keeps serving; the client connects on its next attempt, and nothing stays open', async () => {
    const name = harness.name('unwatched');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const before = openFds();
    socketWatchFailures.left = 1;
    const client = harness.script(CLIENT_SCRIPT, [name, 'echo', '200']);
    expect((await client.waitFor('done', 30_000)).done).toEqual({ ok: 200, bad: 0 });
    expect(socketWatchFailures.left).toBe(0);
    await client.exited;
    await waitUntil(() => server.metrics().clients === 0, 10_000, 'the client slot handed back');
    // (waited for, then asserted: a failure names the fds left open)
    await waitUntil(() => fdsOpenedSince(before).length === 0, 10_000, 'the connections closed').catch(() => undefined);
    expect(fdsOpenedSince(before)).toEqual([]);
    expect(new TextDecoder().decode((await server.call(ECHO, 'still here')).payload)).toBe('still here');
  });
});
