import { expectPhoenixError, fdsOpenedSince, openFds, waitUntil } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { closeFd, createEventFd, drainEventFd, FdWatcher, signalEventFd } from '../src/index.js';
import { spawnFixture, trackFd, trackWatcher, untrackFd, useCleanup, WAIT_MS } from './helpers.js';

useCleanup();

/** An eventfd with a started watcher that counts its callbacks. */
function watchedDoorbell(options: { drain?: boolean } = {}) {
  const fd = trackFd(createEventFd());
  const calls: (Error | null)[] = [];
  const watcher = trackWatcher(new FdWatcher(fd, (error) => calls.push(error), options));
  watcher.start();
  return { fd, watcher, calls };
}

/**
 * Lets the event loop run three whole turns: each has a poll phase, which
 * would report a signalled fd, and a close phase, which finishes handle
 * closes. A callback that has not come by then is not coming.
 */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 3; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('FdWatcher', () => {
  it('calls back once per burst of signals, with a null error', async () => {
    const { fd, calls } = watchedDoorbell();
    signalEventFd(fd);
    signalEventFd(fd);
    signalEventFd(fd);
    await waitUntil(() => calls.length > 0, WAIT_MS, 'the callback');
    await settle();
    expect(calls).toEqual([null]);
  });

  it('drains the eventfd before calling back', async () => {
    const { fd, calls } = watchedDoorbell();
    signalEventFd(fd);
    signalEventFd(fd);
    await waitUntil(() => calls.length > 0, WAIT_MS, 'the callback');
    expect(drainEventFd(fd)).toBe(0);
  });

  it('calls back again for the next burst', async () => {
    const { fd, calls } = watchedDoorbell();
    signalEventFd(fd);
    await waitUntil(() => calls.length === 1, WAIT_MS, 'the first callback');
    signalEventFd(fd);
    await waitUntil(() => calls.length === 2, WAIT_MS, 'the second callback');
    await settle();
    expect(calls).toHaveLength(2);
  });

  it('with drain: false leaves the counter alone (the callback owns the read)', async () => {
    const fd = trackFd(createEventFd());
    let pending = -1;
    const watcher = trackWatcher(
      new FdWatcher(
        fd,
        () => {
          pending = drainEventFd(fd);
          watcher.stop();
        },
        { drain: false },
      ),
    );
    watcher.start();
    signalEventFd(fd);
    signalEventFd(fd);
    await waitUntil(() => pending !== -1, WAIT_MS, 'the callback');
    expect(pending).toBe(2);
  });

  it('is active only between start() and stop()', () => {
    const fd = trackFd(createEventFd());
    const watcher = trackWatcher(new FdWatcher(fd, () => {}));
    expect(watcher.active).toBe(false);
    watcher.start();
    expect(watcher.active).toBe(true);
    watcher.stop();
    expect(watcher.active).toBe(false);
  });

  it('does not call back after stop()', async () => {
    const { fd, watcher, calls } = watchedDoorbell();
    watcher.stop();
    signalEventFd(fd);
    await settle();
    expect(calls).toEqual([]);
  });

  it('resumes with start() after stop(), picking up a signal sent while stopped', async () => {
    const { fd, watcher, calls } = watchedDoorbell();
    watcher.stop();
    signalEventFd(fd);
    await settle();
    watcher.start();
    await waitUntil(() => calls.length === 1, WAIT_MS, 'the callback after start()');
    expect(drainEventFd(fd)).toBe(0);
  });

  it('leaks no fd over a thousand start/stop cycles', async () => {
    const { fd, watcher, calls } = watchedDoorbell();
    const before = openFds();
    for (let i = 0; i < 1000; i++) {
      watcher.stop();
      watcher.start();
    }
    expect(fdsOpenedSince(before)).toEqual([]);
    signalEventFd(fd); // still works afterwards
    await waitUntil(() => calls.length === 1, WAIT_MS, 'the callback');
  });

  it('leaks no fd over a thousand create/start/close cycles of watcher and eventfd', async () => {
    await settle();
    const before = openFds();
    for (let i = 0; i < 1000; i++) {
      const fd = createEventFd();
      const watcher = new FdWatcher(fd, () => {});
      watcher.start();
      watcher.close();
      closeFd(fd);
    }
    await settle(); // let libuv finish the pending handle closes
    expect(fdsOpenedSince(before)).toEqual([]);
  });

  it('can watch a reused fd number after the previous watcher on it was closed', async () => {
    const first = createEventFd();
    const old = new FdWatcher(first, () => {});
    old.start();
    old.close();
    closeFd(first);
    const { fd, calls } = watchedDoorbell();
    expect(fd).toBe(first); // the kernel hands out the lowest free number
    signalEventFd(fd);
    await waitUntil(() => calls.length === 1, WAIT_MS, 'the callback');
  });

  it('close() is idempotent and stops callbacks', async () => {
    const { fd, watcher, calls } = watchedDoorbell();
    watcher.close();
    expect(() => watcher.close()).not.toThrow();
    expect(watcher.closed).toBe(true);
    expect(watcher.active).toBe(false);
    signalEventFd(fd);
    await settle();
    expect(calls).toEqual([]);
  });

  it('stop(), ref() and unref() are no-ops after close(); start() throws ERR_PHOENIX_BAD_FD', () => {
    const { watcher } = watchedDoorbell();
    watcher.close();
    expect(() => {
      watcher.stop();
      watcher.ref();
      watcher.unref();
    }).not.toThrow();
    expectPhoenixError(() => watcher.start(), 'ERR_PHOENIX_BAD_FD');
  });

  it('when unref’d and armed, does not keep a process alive', async () => {
    const child = spawnFixture('unref-watcher.mjs');
    expect(await child.line(/^armed/)).toBe('armed true');
    // Bounded wait: if the watcher kept the loop alive the child would never exit.
    expect(await child.exited(10_000)).toEqual({ code: 0, signal: null });
  });

  it('closing the watcher leaves the fd open', () => {
    const fd = createEventFd();
    const watcher = new FdWatcher(fd, () => {});
    watcher.start();
    watcher.close();
    signalEventFd(fd);
    expect(drainEventFd(fd)).toBe(1);
    closeFd(fd);
    untrackFd(fd);
  });
});
