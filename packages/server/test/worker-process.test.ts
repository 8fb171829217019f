import { once } from 'node:events';
import { join } from 'node:path';
import { closeFd, createEventFd } from '@phoenix-ipc/native-shm';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { DeathNotices } from '../src/death-notices.js';
import { launchWorkerProcess, type WorkerProcess } from '../src/worker-process.js';

// How the supervisor starts a worker (posix_spawn, Node's IPC channel on fd
// 3, the exit from a pidfd), seen from outside: real child processes.
const SCRIPT = join(import.meta.dirname, 'fixtures', 'channel-echo.mjs');
const started: WorkerProcess[] = [];
const fds: number[] = [];
/** A watchdog, not a performance bound. */
const WAIT_MS = 10_000;

afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
  for (const fd of fds.splice(0)) closeFd(fd);
});

function launch(
  options: { env?: Record<string, string | undefined>; fds?: number[]; deathNotices?: DeathNotices } = {},
): WorkerProcess {
  const child = launchWorkerProcess({
    script: SCRIPT,
    args: [],
    execArgv: [],
    env: options.env ?? process.env,
    fds: options.fds ?? [],
    deathNotices: options.deathNotices ?? null,
  });
  started.push(child);
  return child;
}

function nextMessage(child: WorkerProcess): Promise<Record<string, unknown>> {
  return once(child, 'message').then(([message]) => message as Record<string, unknown>);
}

describe('a worker process', () => {
  it('talks over an IPC channel the child sees as process.send / process.on("message")', async () => {
    const child = launch();
    expect(await nextMessage(child)).toEqual({ hello: child.pid, ballast: 0 });
    child.send({ t: 'take', index: 1 });
    expect((await nextMessage(child)).echo).toEqual({ t: 'take', index: 1 });
  });

  it('gets exactly the environment given, and the fds given as 4, 5, ...', async () => {
    const doorbells = [createEventFd({ inheritable: true }), createEventFd({ inheritable: true })];
    fds.push(...doorbells);
    const child = launch({ env: { PATH: process.env.PATH, CHANNEL_ECHO_ENV: 'set' }, fds: doorbells });
    await nextMessage(child);
    child.send({ look: true });
    const seen = await nextMessage(child);
    expect(seen.env).toBe('set');
    expect(seen.fds).toEqual(expect.arrayContaining([4, 5]));
  });

  it("reports its exit code with 'exit', then its channel's end with 'disconnect'", async () => {
    const child = launch();
    await nextMessage(child);
    const events: string[] = [];
    const disconnected = once(child, 'disconnect').then(() => events.push('disconnect'));
    const exited = once(child, 'exit').then(([code, signal]) => events.push(`exit ${code} ${signal}`));
    child.send({ exit: 3 });
    await Promise.all([exited, disconnected]);
    expect(events).toContain('exit 3 null');
    expect(child.exitCode).toBe(3);
    expect(child.connected).toBe(false);
  });

  it('reports the signal that killed it, and is never signalled again once reaped', async () => {
    const child = launch();
    await nextMessage(child);
    expect(child.kill('SIGKILL')).toBe(true);
    const [code, signal] = await once(child, 'exit');
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    expect(child.signalCode).toBe('SIGKILL');
    expect(child.kill('SIGKILL')).toBe(false); // its pid may be someone else's by now
  });

  it('refuses to send on a closed channel with ERR_PHOENIX_PEER_GONE', async () => {
    const child = launch();
    await nextMessage(child);
    child.kill('SIGKILL');
    await waitUntil(() => !child.connected, WAIT_MS, 'the channel to close');
    expect(() => child.send({ t: 'stop' })).toThrow(expect.objectContaining({ code: 'ERR_PHOENIX_PEER_GONE' }));
  });

  it("never throws when it cannot start: it emits 'error' and exits with 127", async () => {
    const child = launch({ fds: [-1] });
    const errors: unknown[] = [];
    child.on('error', (error) => errors.push(error));
    // (not events.once: it would reject on the 'error' that comes first)
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(127);
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' })]);
    expect(child.exitCode).toBe(127);
    expect(child.connected).toBe(false);
  });

  it("skips what is not the application's: lines that are not JSON, messages of Node's own", async () => {
    const child = launch();
    await nextMessage(child);
    const messages: unknown[] = [];
    child.on('message', (message) => messages.push(message));
    child.send({ noise: true });
    await waitUntil(() => messages.length > 0, WAIT_MS, 'a message after the noise');
    child.send({ last: true });
    await waitUntil(() => messages.length > 1, WAIT_MS, 'the echo of the last message');
    expect(messages).toEqual([{ after: 'noise' }, expect.objectContaining({ echo: { last: true } })]);
  });

  it("with death notices, says it is dying ('dying', with how it ends) before it is reaped ('exit')", async () => {
    const notices = DeathNotices.create();
    expect(notices).not.toBeNull();
    try {
      // 400 MB to release: the kernel needs tens of ms for that after the
      // notice, as for a loaded worker on a busy machine (a tiny process can
      // be gone before the notice is read, and then it is simply an exit).
      const child = launch({ deathNotices: notices!, env: { ...process.env, CHANNEL_ECHO_BALLAST_MB: '400' } });
      await nextMessage(child); // it holds its slot before it says anything: armed now
      const seen: string[] = [];
      child.on('dying', (code, signal) => seen.push(`dying ${code} ${signal} (exitCode ${child.exitCode})`));
      const exited = once(child, 'exit').then(() => seen.push('exit'));
      child.kill('SIGKILL');
      await exited;
      expect(seen).toEqual(['dying null SIGKILL (exitCode null)', 'exit']);
    } finally {
      notices?.close();
    }
  });
});
