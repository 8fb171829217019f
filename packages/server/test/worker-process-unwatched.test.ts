// A worker process whose exit cannot be watched (libuv has no memory for the
// pidfd's watcher, made here with a mock of FdWatcher): the child must not
// live on unseen, and nothing it was given may stay open in the supervisor.
import { join } from 'node:path';
import { fdsOpenedSince, openFds, processesMentioning, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { launchWorkerProcess } from '../src/worker-process.js';

/** Exit watchers (those that do not drain: on a pidfd) still to fail as if libuv had no memory for them. */
const exitWatchFailures = vi.hoisted(() => ({ left: 0 }));

vi.mock('@phoenix-ipc/native-shm', async (importOriginal) => {
  const native = await importOriginal<typeof import('@phoenix-ipc/native-shm')>();
  const { fdWatcherThatMayFail } = await import('@phoenix-ipc/test-kit');
  const onPidFd = (_fd: number, options?: { drain?: boolean }) => options?.drain === false;
  return { ...native, FdWatcher: fdWatcherThatMayFail(native.FdWatcher, exitWatchFailures, onPidFd) };
});

/** Marks this file's children in their environment, so that none outlives a failed test. */
const TAG = `PHX_UNWATCHED_${process.pid}_${Math.floor(Math.random() * 1e9)}`;

afterEach(() => {
  for (const pid of processesMentioning(TAG)) process.kill(pid, 'SIGKILL');
});

const SCRIPT = join(import.meta.dirname, 'fixtures', 'channel-echo.mjs');

const launchTagged = () =>
  launchWorkerProcess({
    script: SCRIPT,
    args: [],
    execArgv: [],
    env: { ...process.env, [TAG]: '1' },
    fds: [],
    deathNotices: null,
  });
/** A watchdog, not a performance bound. */
const WAIT_MS = 10_000;

describe('a worker process whose exit cannot be watched', () => {
  it('is killed, leaves no fd open, and ends as a start that failed (error, then exit 127)', async () => {
    const before = openFds();
    exitWatchFailures.left = 1;
    const child = launchTagged();
    const errors: unknown[] = [];
    child.on('error', (error) => errors.push(error));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(exitWatchFailures.left).toBe(0);
    expect(code).toBe(127);
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_PHOENIX_SYSCALL_FAILED' })]);
    expect(child.connected).toBe(false);
    await waitUntil(() => processesMentioning(TAG).length === 0, WAIT_MS, 'the unwatched child to be killed');
    expect(fdsOpenedSince(before)).toEqual([]);
  });

  it('does not stop the next worker from starting and being watched', async () => {
    const child = launchTagged();
    const [hello] = await new Promise<unknown[]>((resolve) => child.once('message', (...args) => resolve(args)));
    expect(hello).toEqual({ hello: child.pid, ballast: 0 });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    child.kill('SIGKILL');
    expect(await exited).toEqual([null, 'SIGKILL']);
  });
});
