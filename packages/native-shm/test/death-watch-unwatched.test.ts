// A death watch whose eventfd cannot be watched (libuv has no memory for the
// watcher, made here with a mock of FdWatcher): the constructor throws that
// error and keeps none of the watch's fds.
import { fdsOpenedSince, openFds, waitUntil } from '@phoenix-ipc/test-kit';
import { describe, expect, it, vi } from 'vitest';
import { DeathWatch } from '../src/index.js';
import { WAIT_MS } from './helpers.js';

/** Watchers still to fail as if libuv had no memory for them. */
const watchFailures = vi.hoisted(() => ({ left: 0 }));

vi.mock('../src/doorbell.js', async (importOriginal) => {
  const doorbell = await importOriginal<typeof import('../src/doorbell.js')>();
  const { fdWatcherThatMayFail } = await import('@phoenix-ipc/test-kit');
  return { ...doorbell, FdWatcher: fdWatcherThatMayFail(doorbell.FdWatcher, watchFailures) };
});

describe('a death watch that cannot watch its eventfd', () => {
  it('throws the error and keeps neither its memfd nor its eventfd', async () => {
    const before = openFds();
    watchFailures.left = 1;
    expect(() => new DeathWatch(4, () => {})).toThrow(expect.objectContaining({ code: 'ERR_PHOENIX_SYSCALL_FAILED' }));
    expect(watchFailures.left).toBe(0);
    // (waited for, then asserted: a failure names the fds left open)
    await waitUntil(() => fdsOpenedSince(before).length === 0, WAIT_MS, 'the fds closed').catch(() => undefined);
    expect(fdsOpenedSince(before)).toEqual([]);
  });

  it('leaves the next watch working', () => {
    const watch = new DeathWatch(4, () => {});
    expect(watch.fd).toBeGreaterThanOrEqual(0);
    watch.close();
  });
});
