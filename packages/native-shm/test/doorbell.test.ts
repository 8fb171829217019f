import { execFileSync } from 'node:child_process';
import { constants, openSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import {
  acceptSeqpacket,
  closeFd,
  createEventFd,
  drainEventFd,
  isDoorbellFd,
  listenSeqpacket,
  pollSync,
  receiveMessage,
  sendMessage,
  signal,
  signalEventFd,
  waitSync,
} from '../src/index.js';
import { sleepsOnFds, socketName, spawnFixture, trackFd, useCleanup, WAIT_MS } from './helpers.js';

useCleanup();

function eventFd(): number {
  return trackFd(createEventFd());
}

describe('eventfd doorbells', () => {
  it('createEventFd returns a fresh non-negative fd with nothing pending', () => {
    const fd = eventFd();
    expect(Number.isInteger(fd) && fd >= 0).toBe(true);
    expect(drainEventFd(fd)).toBe(0);
  });

  it('drainEventFd returns how many signals were pending, then 0', () => {
    const fd = eventFd();
    signalEventFd(fd);
    signalEventFd(fd);
    signalEventFd(fd);
    expect(drainEventFd(fd)).toBe(3);
    expect(drainEventFd(fd)).toBe(0);
  });

  it('signal(fd), the design’s name, writes 1 like signalEventFd', () => {
    const fd = eventFd();
    signal(fd);
    expect(drainEventFd(fd)).toBe(1);
  });

  it('are close-on-exec unless inheritable', () => {
    const flags = (fd: number) =>
      Number.parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
    const O_CLOEXEC = 0o2000000;
    expect(flags(eventFd()) & O_CLOEXEC).toBe(O_CLOEXEC);
    expect(flags(trackFd(createEventFd({ inheritable: true }))) & O_CLOEXEC).toBe(0);
  });
});

describe('isDoorbellFd: what a doorbell passed by another process must be', () => {
  it('says yes to a doorbell of this build', () => {
    expect(isDoorbellFd(eventFd())).toBe(true);
  });

  it('says no to a character device, a regular file and a FIFO open for reading only', () => {
    expect(isDoorbellFd(trackFd(openSync('/dev/null', 'r')))).toBe(false);
    expect(isDoorbellFd(trackFd(openSync('/proc/self/status', 'r')))).toBe(false);
    // Neither build's doorbell: not an eventfd, and a FIFO doorbell is open both ways.
    const fifo = join(tmpdir(), `phx-doorbell-probe-${process.pid}`);
    execFileSync('mkfifo', [fifo]);
    try {
      expect(isDoorbellFd(trackFd(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)))).toBe(false);
    } finally {
      unlinkSync(fifo);
    }
  });

  it('says no to an fd that is not open, and refuses one that is not an fd number', () => {
    const fd = createEventFd();
    closeFd(fd);
    expect(isDoorbellFd(fd)).toBe(false);
    expect(() => isDoorbellFd(-1)).toThrow(expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }));
    expect(() => isDoorbellFd(1.5)).toThrow(expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }));
  });
});

describe('waitSync', () => {
  it("returns 'timed-out' after roughly the timeout when nothing signals", () => {
    const fd = eventFd();
    const started = performance.now();
    expect(waitSync(fd, 50)).toBe('timed-out');
    expect(performance.now() - started).toBeGreaterThanOrEqual(40);
  });

  it("returns 'ok' when the eventfd is signalled, and drains it", () => {
    const fd = eventFd();
    signalEventFd(fd);
    signalEventFd(fd);
    expect(waitSync(fd, 5_000)).toBe('ok');
    expect(drainEventFd(fd)).toBe(0);
  });

  it('with timeout 0 polls without blocking', () => {
    const fd = eventFd();
    expect(waitSync(fd, 0)).toBe('timed-out');
    signalEventFd(fd);
    expect(waitSync(fd, 0)).toBe('ok');
  });
});

describe('pollSync', () => {
  it('returns the index of the ready fd', () => {
    const a = eventFd();
    const b = eventFd();
    signalEventFd(b);
    expect(pollSync([a, b], 5_000)).toBe(1);
    signalEventFd(a);
    expect(pollSync([a, b], 5_000)).toBe(0);
  });

  it('returns -1 on timeout', () => {
    const started = performance.now();
    expect(pollSync([eventFd(), eventFd()], 30)).toBe(-1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
  });

  it('does not drain what it woke on', () => {
    const fd = eventFd();
    signalEventFd(fd);
    expect(pollSync([fd], 5_000)).toBe(0);
    expect(drainEventFd(fd)).toBe(1);
  });
});

describe('waking another process through an inherited eventfd (stdio fd 3)', () => {
  it('wakes a child waiting with FdWatcher on its event loop', async () => {
    const doorbell = eventFd();
    const child = spawnFixture('eventfd-child.mjs', ['watch'], { stdio: ['ignore', 'pipe', 'pipe', doorbell] });
    await child.line(/^ready$/);
    await waitUntil(() => sleepsOnFds(child.pid), WAIT_MS, 'the child idle in its event loop');
    signalEventFd(doorbell);
    await child.line(/^woke$/);
    expect(await child.exited()).toEqual({ code: 0, signal: null });
  });

  it('wakes a child blocked in waitSync', async () => {
    const doorbell = eventFd();
    const child = spawnFixture('eventfd-child.mjs', ['wait-sync'], { stdio: ['ignore', 'pipe', 'pipe', doorbell] });
    await child.line(/^ready$/);
    await waitUntil(() => sleepsOnFds(child.pid), WAIT_MS, 'the child blocked in poll(2)');
    signalEventFd(doorbell);
    expect(await child.line(/^(ok|timed-out)$/)).toBe('ok');
    expect(await child.exited()).toEqual({ code: 0, signal: null });
  });
});

describe('waking another process through an eventfd passed over a seqpacket socket (SCM_RIGHTS)', () => {
  /** Accepts the child's connection, retrying until it is queued (bounded). */
  async function accept(listener: number): Promise<number> {
    let connection = -1;
    await waitUntil(() => (connection = acceptSeqpacket(listener)) >= 0, WAIT_MS, 'a connection');
    return trackFd(connection);
  }

  it('parent to child: the child receives a new fd for the eventfd and wakes when the parent signals the original', async () => {
    const name = socketName();
    const listener = trackFd(listenSeqpacket(name));
    const child = spawnFixture('socket-child.mjs', ['receive-fd', name]);
    await child.line(/"connected"/);
    const connection = await accept(listener);
    const doorbell = eventFd();
    expect(sendMessage(connection, Buffer.from('doorbell'), [doorbell])).toBe(true);
    const received = JSON.parse(await child.line(/"data"/));
    expect(received.data).toBe('doorbell');
    expect(received.fds).toHaveLength(1);
    expect(Number.isInteger(received.fds[0]) && received.fds[0] >= 0).toBe(true);
    expect(received.fds[0]).not.toBe(received.socket);
    await waitUntil(() => sleepsOnFds(child.pid), WAIT_MS, 'the child asleep on the eventfd');
    signalEventFd(doorbell);
    await child.line(/^woke$/);
    expect(await child.exited()).toEqual({ code: 0, signal: null });
  });

  it('child to parent: the parent receives the eventfd the child created and wakes the child with it', async () => {
    const name = socketName();
    const listener = trackFd(listenSeqpacket(name));
    const child = spawnFixture('socket-child.mjs', ['send-fd', name]);
    expect(JSON.parse(await child.line(/"sent"/)).sent).toBe(true);
    const connection = await accept(listener);
    const message = receiveMessage(connection);
    expect(message).not.toBeNull();
    if (message === null || message.eof) throw new Error('expected a message');
    expect(message.data.toString()).toBe('doorbell');
    expect(message.fds).toHaveLength(1);
    const doorbell = trackFd(message.fds[0]!);
    signalEventFd(doorbell);
    await child.line(/^woke$/);
    expect(await child.exited()).toEqual({ code: 0, signal: null });
  });
});
