// /dev/shm running out must never kill a process with SIGBUS. Each test runs
// a real supervisor, its workers and a client in a private mount namespace
// whose /dev/shm is a small tmpfs (runWithPrivateShm), so nothing here can
// fill the machine's real /dev/shm.
import { fileURLToPath } from 'node:url';
import { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { runWithPrivateShm } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/shm-space.mjs', import.meta.url));
const MIB = 1024 * 1024;

function run(mode: string, size: string, options: object = {}, inodes?: number) {
  return runWithPrivateShm([process.execPath, FIXTURE, mode, '/phx-space', JSON.stringify(options)], {
    size,
    inodes,
    timeoutMs: 120_000,
  });
}

describe('a segment that does not fit in /dev/shm', () => {
  it('rejects create with ERR_PHOENIX_NO_SPACE and leaves nothing behind', async () => {
    // The default options need 31.6 MiB.
    const result = await run('too-small', '24m');
    expect(result.code, result.stderr).toBe(0);
    const report = result.messages[0]!;
    expect(report).toMatchObject({ created: false, code: 'ERR_PHOENIX_NO_SPACE', name: 'PhoenixError', leftover: [] });
    // What the reservation would have failed with, as for a native failure: ENOSPC, found by statvfs.
    expect(report).toMatchObject({ errno: 28, syscall: 'statvfs' });
    const needed = PhoenixShmLayout.requiredSize();
    expect(report.bytesNeeded).toBe(needed);
    expect(report.bytesAvailable).toBeLessThanOrEqual(24 * MIB);
  });

  it('says what it needs, what is free, which options shrink it and how to give a container more room', async () => {
    const result = await run('too-small', '24m');
    const message = String(result.messages[0]!.message);
    const needed = PhoenixShmLayout.requiredSize();
    expect(message).toContain(`${needed} bytes`);
    expect(message).toMatch(/has \d+ bytes \(.* MiB\) free/);
    for (const option of ['maxPayloadBytes', 'maxClients', 'normalQueueCapacity', 'vipQueueCapacity']) {
      expect(message).toContain(option);
    }
    expect(message).toContain('--shm-size');
  });
});

describe('a /dev/shm with room but no inode left', () => {
  it('rejects create with ERR_PHOENIX_NO_SPACE that says the system refused it, with its errno and syscall', async () => {
    const result = await run('too-small', '64m', {}, 1);
    expect(result.code, result.stderr).toBe(0);
    const report = result.messages[0]!;
    expect(report).toMatchObject({ created: false, code: 'ERR_PHOENIX_NO_SPACE', leftover: [], errno: 28 });
    expect(report.syscall).toEqual(expect.any(String));
    expect(report.bytesAvailable).toBeGreaterThan(report.bytesNeeded as number);
    expect(String(report.message)).toMatch(/free, yet the system refused it .*no inode left \(df -i\)/);
  });
});

describe('a /dev/shm mounted without a size limit', () => {
  it('creates a server: a tmpfs of size=0 reports no blocks, which means no limit, not no room', async () => {
    const result = await run('too-small', '0', {});
    expect(result.code, result.stderr).toBe(0);
    expect(result.messages[0]).toEqual({ created: true });
  });
});

describe('the default options', () => {
  it('need at most 32 MiB, so they fit a stock 64 MiB container /dev/shm with room to spare', () => {
    expect(PhoenixShmLayout.requiredSize()).toBeLessThanOrEqual(32 * MIB);
  });

  it('create and start a server in a 64 MiB /dev/shm', async () => {
    const result = await run('too-small', '64m', {});
    expect(result.code, result.stderr).toBe(0);
    expect(result.messages[0]).toEqual({ created: true });
  });
});

describe('a segment that fits, after /dev/shm fills up', () => {
  it('serves traffic that wraps every ring of every channel, and no process dies', async () => {
    const options = { normalWorkers: 2, vipWorkers: 1, maxClients: 2, maxPayloadBytes: 60_000 };
    const size = PhoenixShmLayout.requiredSize(options);
    const result = await run('fill', `${Math.ceil(size / MIB) + 4}m`, options);
    expect(result.code, result.stderr).toBe(0);
    expect(result.signal).toBeNull();
    const find = (key: string) => result.messages.find((message) => key in message)?.[key] as Record<string, unknown>;
    expect(find('filled').free).toBeLessThan(64 * 1024);
    // 24 rounds of one 60 KB call per worker: each 128 KiB ring wraps many times.
    expect(find('supervisor')).toEqual({ ok: 24 * 3, bad: 0 });
    expect(find('client')).toEqual({ ok: 24 * 3, bad: 0 });
    expect(find('clientExit')).toEqual({ code: 0, signal: null });
    const final = result.messages.find((message) => 'stats' in message)!;
    expect(final.crashes).toBe(0);
    expect(final.state).toBe('running');
    const workers = final.stats as { group: string; processed: number; crashes: number }[];
    const processedBy = (group: string) =>
      workers.filter((worker) => worker.group === group).reduce((sum, worker) => sum + worker.processed, 0);
    // Both callers' calls, all served: 2 × 24 rounds of 2 normal calls and 1 VIP call.
    expect([processedBy('normal'), processedBy('vip')]).toEqual([2 * 24 * 2, 2 * 24]);
    for (const worker of workers) {
      expect(worker.crashes).toBe(0);
      // Least-loaded dispatch spreads them about evenly (48 each), not exactly: at 24, each worker's
      // rings have still wrapped many times (60 KB calls in 128 KiB rings).
      expect(worker.processed).toBeGreaterThanOrEqual(24);
    }
    expect(result.messages.at(-1)).toEqual({ done: true, leftover: [] });
  });
});
