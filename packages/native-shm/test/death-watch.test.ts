import { Socket } from 'node:net';
import { join } from 'node:path';
import { expectPhoenixError, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeFd,
  createChannelPair,
  DeathWatch,
  exitStatusOf,
  openPidFd,
  pollSync,
  spawnProcess,
} from '../src/index.js';
import { FIXTURES, reaped, spawnFixture, trackSpawned, useCleanup, WAIT_MS } from './helpers.js';

useCleanup();

const watches: DeathWatch[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.close();
});

interface Event {
  slot: number;
  died: boolean;
  status: ReturnType<typeof exitStatusOf>;
}

/** A watch whose events (with the exit status of `pids[slot]` at that moment) land in `events`. */
function newWatch(slots = 4): { watch: DeathWatch; events: Event[]; pids: number[] } {
  const events: Event[] = [];
  const pids: number[] = [];
  const watch = new DeathWatch(slots, (slot, died) => events.push({ slot, died, status: exitStatusOf(pids[slot]!) }));
  watches.push(watch);
  return { watch, events, pids };
}

/** Starts death-holder.mjs on `slot`; resolves with what it says ("held" / "busy") and its pid. */
async function startHolder(watch: DeathWatch, slot: number, exitCode?: number): Promise<{ pid: number; said: string }> {
  const [ours, theirs] = createChannelPair();
  let pid: number;
  try {
    const args = [
      join(FIXTURES, 'death-holder.mjs'),
      String(slot),
      ...(exitCode === undefined ? [] : [String(exitCode)]),
    ];
    pid = trackSpawned(spawnProcess({ file: process.execPath, args, env: process.env, fds: [watch.fd, theirs] }));
  } finally {
    closeFd(theirs);
  }
  const socket = new Socket({ fd: ours, readable: true, writable: false });
  socket.setEncoding('utf8');
  const said = await new Promise<string>((resolve, reject) => {
    socket.once('data', (text: string) => resolve(text.trim()));
    socket.once('end', () => reject(new Error(`holder ${pid} said nothing`)));
  });
  socket.destroy();
  return { pid, said };
}

describe('DeathWatch', () => {
  it('reports the death of a slot holder (died: true), with how it is ending, before it is reaped', async () => {
    const { watch, events, pids } = newWatch();
    const { pid, said } = await startHolder(watch, 1);
    pids[1] = pid;
    expect(said).toBe('held');
    watch.arm(1);
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => events.length > 0, WAIT_MS, 'the death notice');
    expect(events).toEqual([{ slot: 1, died: true, status: { code: null, signal: 'SIGKILL' } }]);
    expect(await reaped(pid)).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('reports an exit code the same way, even when the holder ended before it was armed', async () => {
    const { watch, events, pids } = newWatch();
    const { pid } = await startHolder(watch, 2, 5); // says "held", then exits 5
    pids[2] = pid;
    watch.arm(2);
    await waitUntil(() => events.length > 0, WAIT_MS, 'the death notice');
    expect(events).toEqual([{ slot: 2, died: true, status: { code: 5, signal: null } }]);
    expect(await reaped(pid)).toEqual({ code: 5, signal: null });
  });

  it('reports died: false when armed on a slot nobody holds, and the slot stays usable', async () => {
    const { watch, events } = newWatch();
    watch.arm(3);
    await waitUntil(() => events.length > 0, WAIT_MS, 'the event');
    expect(events[0]).toMatchObject({ slot: 3, died: false });
    expect((await startHolder(watch, 3)).said).toBe('held');
  });

  it('lets a new process hold a slot whose holder died unwatched', async () => {
    const { watch } = newWatch();
    const first = await startHolder(watch, 0, 0); // holds, then exits without anyone watching
    await reaped(first.pid);
    expect((await startHolder(watch, 0)).said).toBe('held');
  });

  it('gives a slot held by a live process to nobody else: holdDeathWatchSlot says false (after 100 ms, not forever)', async () => {
    const { watch } = newWatch();
    expect((await startHolder(watch, 1)).said).toBe('held');
    expect((await startHolder(watch, 1)).said).toBe('busy');
  });

  it('hands every event of a batch to onEvent even when it throws; each error becomes an uncaught exception', async () => {
    const child = spawnFixture('death-watch-throws.mjs');
    const outcome = JSON.parse(await child.line(/^\{/)) as { seen: [number, boolean][]; uncaught: number };
    expect(outcome.seen.sort()).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(outcome.uncaught).toBe(2);
    expect((await child.exited()).code).toBe(0);
  });

  it('may be closed twice, and arming a closed watch does nothing', () => {
    const { watch } = newWatch();
    watch.close();
    watch.close();
    expect(() => watch.arm(0)).not.toThrow();
  });

  it.each([0, -1, 1.5, 5000])('refuses %s slots with ERR_PHOENIX_INVALID_ARGUMENT', (slots) => {
    expectPhoenixError(() => new DeathWatch(slots, () => {}), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('refuses a slot out of range with ERR_PHOENIX_INVALID_ARGUMENT', () => {
    const { watch } = newWatch(2);
    expectPhoenixError(() => watch.arm(2), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expectPhoenixError(() => watch.arm(-1), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('exitStatusOf', () => {
  it('is null for a process that is not exiting, or does not exist', () => {
    expect(exitStatusOf(process.pid)).toBeNull();
    expect(exitStatusOf(2 ** 30)).toBeNull();
    expect(exitStatusOf(-1)).toBeNull();
  });

  it('says how an ended, unreaped child ended', async () => {
    const pid = trackSpawned(spawnProcess({ file: '/bin/sh', args: ['-c', 'exit 5'], env: {} }));
    const pidFd = openPidFd(pid);
    pollSync([pidFd], WAIT_MS);
    closeFd(pidFd);
    expect(exitStatusOf(pid)).toEqual({ code: 5, signal: null });
    await reaped(pid);
  });
});
