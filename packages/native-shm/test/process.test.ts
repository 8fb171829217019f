import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { expectPhoenixError, hasExited, waitUntil } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import {
  isProcessAlive,
  isSameProcessAlive,
  mallocStats,
  monotonicClockCell,
  openPidFd,
  pollSync,
  processStartTime,
  readMonotonicClock,
  retainFreedHeap,
  setParentDeathSignal,
  yieldProcessor,
} from '../src/index.js';
import { spawnFixture, trackFd, trackPid, useCleanup, WAIT_MS } from './helpers.js';

useCleanup();

/** Above the kernel's pid_max (at most 2^22), so never a live process. */
const MISSING_PID = 2 ** 30;

async function reapedChildPid(): Promise<number> {
  const child = spawnFixture('sleeper.mjs', ['now']);
  await child.exited(); // Node has reaped it by the time 'exit' is emitted
  return child.pid;
}

describe('isProcessAlive', () => {
  it('is true for this process', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
  });

  it('is true for a running child', async () => {
    const child = spawnFixture('sleeper.mjs');
    await child.line(/^ready$/);
    expect(isProcessAlive(child.pid)).toBe(true);
  });

  it('is false for a child that has exited and been reaped', async () => {
    expect(isProcessAlive(await reapedChildPid())).toBe(false);
  });

  it.each([0, -1, 1.5, Number.NaN, '1'])('is false (never throws) for a pid that cannot exist: %s', (pid) => {
    expect(isProcessAlive(pid as number)).toBe(false);
  });
});

describe('processStartTime', () => {
  it('is a stable number for a running pid', async () => {
    const child = spawnFixture('sleeper.mjs');
    await child.line(/^ready$/);
    const first = processStartTime(child.pid);
    expect(first).toBeTypeOf('number');
    expect(processStartTime(child.pid)).toBe(first);
  });

  it('is no earlier for a child than for its parent', async () => {
    const child = spawnFixture('sleeper.mjs');
    await child.line(/^ready$/);
    expect(processStartTime(child.pid)).toBeGreaterThanOrEqual(processStartTime(process.pid)!);
  });

  it('is null for a missing pid', async () => {
    expect(processStartTime(MISSING_PID)).toBeNull();
    expect(processStartTime(await reapedChildPid())).toBeNull();
  });
});

describe('isSameProcessAlive', () => {
  it('is true for a running pid with its own start time', () => {
    expect(isSameProcessAlive(process.pid, processStartTime(process.pid)!)).toBe(true);
  });

  it('is false for a running pid with a different start time (a recycled pid)', () => {
    expect(isSameProcessAlive(process.pid, processStartTime(process.pid)! + 1)).toBe(false);
  });

  it('is false for a missing pid', () => {
    expect(isSameProcessAlive(MISSING_PID, 0)).toBe(false);
  });

  it('is true for a running pid when the asking process is out of fds and cannot read /proc', async () => {
    const child = spawnFixture('out-of-fds.mjs', [String(processStartTime(process.pid))], { fdLimit: 64 });
    const answer = JSON.parse(await child.line(/^\{/)) as { alive: boolean; held: number };
    expect(answer.held).toBeGreaterThan(0);
    expect(answer.alive).toBe(true);
  });
});

describe('openPidFd', () => {
  it('returns an fd that becomes readable when the child exits', async () => {
    const child = spawnFixture('sleeper.mjs');
    await child.line(/^ready$/);
    const pidfd = trackFd(openPidFd(child.pid));
    expect(pidfd).toBeGreaterThanOrEqual(0);
    expect(pollSync([pidfd], 0)).toBe(-1);
    child.process.stdin?.end(); // the sleeper exits when its stdin closes
    // Polled from the event loop so that a hang is caught by the bounded wait.
    await waitUntil(() => pollSync([pidfd], 0) === 0, WAIT_MS, 'the pidfd to become readable');
    await child.exited();
  });

  it('throws ERR_PHOENIX_NO_SUCH_PROCESS for a reaped pid', async () => {
    const pid = await reapedChildPid();
    const error = expectPhoenixError(() => openPidFd(pid), 'ERR_PHOENIX_NO_SUCH_PROCESS', /No such process/);
    expect(error.syscall).toBe('pidfd_open');
  });
});

describe('setParentDeathSignal', () => {
  it('makes a grandchild die when its parent is SIGKILLed', async () => {
    const parent = spawnFixture('death-parent.mjs');
    const line = await parent.line(/^(pid \d+|orphaned)/);
    const [, pidText, supported] = line.split(' ');
    expect(supported).toBe('true');
    const grandchild = Number(pidText);
    trackPid(grandchild); // SIGKILLed after the test if the feature failed
    expect(isProcessAlive(grandchild)).toBe(true);
    parent.process.kill('SIGKILL');
    await parent.exited();
    // The kernel sends the signal while the parent exits; a zombie (not yet reaped by init) counts as gone.
    // How fast is judged by the stress app (SupervisorRestart.*: workers exit within 1 s of a kill).
    await waitUntil(() => hasExited(grandchild), WAIT_MS, `grandchild ${grandchild} to die`);
  });

  it('rejects an unknown signal name with ERR_PHOENIX_INVALID_ARGUMENT', () => {
    expectPhoenixError(() => setParentDeathSignal('SIGFOO' as never), 'ERR_PHOENIX_INVALID_ARGUMENT', /SIGFOO/);
  });

  it('rejects an out-of-range signal number with ERR_PHOENIX_INVALID_ARGUMENT', () => {
    expectPhoenixError(() => setParentDeathSignal(1000), 'ERR_PHOENIX_INVALID_ARGUMENT', /signal out of range/);
    expectPhoenixError(() => setParentDeathSignal(2.5), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('retainFreedHeap', () => {
  const MiB = 1024 * 1024;

  /** The heap-retention fixture's report: what malloc did with 8 blocks of 512 KiB, allocated then freed. */
  async function mallocAround512KiBBlocks(
    retain: boolean,
  ): Promise<{ retainApplied: boolean | null; mmappedBytes: number; keptBytes: number }> {
    const child = spawnFixture('heap-retention.mjs', retain ? ['retain'] : []);
    return JSON.parse(await child.line(/^\{/));
  }

  it.runIf(mallocStats() !== null)(
    'serves blocks up to heapUpToBytes from its arenas and keeps them mapped once freed',
    async () => {
      const report = await mallocAround512KiBBlocks(true);
      expect(report.retainApplied).toBe(true);
      expect(report.mmappedBytes).toBe(0);
      expect(report.keptBytes).toBeGreaterThanOrEqual(3 * MiB);
    },
  );

  it.runIf(mallocStats() !== null)(
    'leaves malloc alone unless called (such blocks are mmapped one by one)',
    async () => {
      const report = await mallocAround512KiBBlocks(false);
      expect(report.mmappedBytes).toBeGreaterThanOrEqual(4 * MiB);
      expect(report.keptBytes).toBeLessThan(2 * MiB);
    },
  );

  it('only ever raises what it applied', () => {
    expect(retainFreedHeap(0, 0)).toBe(true);
  });

  it('rejects byte counts that are not non-negative 31-bit integers', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31, '1' as unknown as number]) {
      expectPhoenixError(() => retainFreedHeap(bad, 0), 'ERR_PHOENIX_INVALID_ARGUMENT', /keepBytes/);
      expectPhoenixError(() => retainFreedHeap(0, bad), 'ERR_PHOENIX_INVALID_ARGUMENT', /heapUpToBytes/);
    }
  });
});

describe('mallocStats', () => {
  it.runIf(process.platform === 'linux')('reports what glibc malloc holds, in bytes', () => {
    const stats = mallocStats();
    expect(stats).not.toBeNull();
    for (const value of Object.values(stats!)) expect(Number.isInteger(value) && value >= 0).toBe(true);
    expect(stats!.arenaBytes).toBeGreaterThan(0);
  });
});

describe('yieldProcessor', () => {
  it('returns, whether or not another thread was waiting for this CPU', () => {
    for (let i = 0; i < 100; i++) expect(yieldProcessor()).toBeUndefined();
  });
});

describe('readMonotonicClock', () => {
  const hrtimeMs = () => Number(process.hrtime.bigint()) / 1e6;

  it('reads CLOCK_MONOTONIC (the clock of process.hrtime), in ms, into monotonicClockCell[0]', () => {
    for (let i = 0; i < 100; i++) {
      const before = hrtimeMs();
      expect(readMonotonicClock()).toBeUndefined();
      const after = hrtimeMs();
      // hrtime's ns through a double: a few ns of rounding either way.
      expect(monotonicClockCell[0]).toBeGreaterThanOrEqual(before - 1e-3);
      expect(monotonicClockCell[0]).toBeLessThanOrEqual(after + 1e-3);
    }
  });

  it('moves forward, with sub-millisecond resolution', () => {
    readMonotonicClock();
    let previous = monotonicClockCell[0]!;
    let fractional = false;
    for (let i = 0; i < 1000; i++) {
      readMonotonicClock();
      const now = monotonicClockCell[0]!;
      expect(now).toBeGreaterThanOrEqual(previous);
      if (!Number.isInteger(now)) fractional = true;
      previous = now;
    }
    expect(fractional).toBe(true);
  });

  it('shares one cell between the copies of this module in a thread (an app that both imports and requires us)', () => {
    const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.cjs');
    const other = createRequire(import.meta.url)(built) as {
      readMonotonicClock: () => void;
      monotonicClockCell: Float64Array;
    };
    readMonotonicClock();
    other.readMonotonicClock();
    const start = Number(process.hrtime.bigint()) / 1e6;
    readMonotonicClock();
    expect(monotonicClockCell[0]).toBeGreaterThanOrEqual(start - 1e-3);
    other.readMonotonicClock();
    expect(other.monotonicClockCell[0]).toBeGreaterThanOrEqual(start - 1e-3);
  });

  it('keeps one cell per thread: a worker thread reading the clock leaves this thread its own cell', async () => {
    readMonotonicClock(); // this thread's cell is registered first
    const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.cjs');
    const worker = new Worker(
      `const shm = require(${JSON.stringify(built)});
       shm.readMonotonicClock();
       require('node:worker_threads').parentPort.postMessage(shm.monotonicClockCell[0]);`,
      { eval: true },
    );
    const [theirs] = (await once(worker, 'message')) as [number];
    await once(worker, 'exit');
    const hrtimeAfterWorker = Number(process.hrtime.bigint()) / 1e6;
    readMonotonicClock();
    // Read into this thread's cell, not the (gone) worker's: it is later than anything the worker read.
    expect(monotonicClockCell[0]).toBeGreaterThanOrEqual(hrtimeAfterWorker - 1e-3);
    expect(theirs).toBeLessThan(monotonicClockCell[0]!);
    expect(theirs).toBeGreaterThan(0);
  });
});
