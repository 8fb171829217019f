import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcClient } from '@phoenix-ipc/client';
import { SharedSegment } from '@phoenix-ipc/native-shm';
import { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { hasExited, processesMentioning, waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { IpcServer, type PhoenixError } from '../src/index.js';
import { ECHO, LOG_ONCE, SLEEP_SYNC, SLOW_ECHO } from './fixtures/handlers.mjs';
import { clusterStats, Harness, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());
const scratch = mkdtempSync(join(tmpdir(), 'phx-phoenix-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: PhoenixError) => error.code,
  );
}

describe('when the supervisor dies (SIGKILL)', () => {
  // How fast (server-gone and worker exit within 1 s) is judged by the stress app: SupervisorRestart.*.
  it('its workers exit and clients fail pending and new calls with ERR_PHOENIX_SERVER_GONE', async () => {
    const name = harness.name('phoenix');
    const cluster = harness.cluster(name, { normalWorkers: 2, vipWorkers: 1 });
    const ready = await cluster.waitFor('ready');
    const workerPids = (ready.stats as { pid: number }[]).map((s) => s.pid);
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    const pending = codeOf(client.call(SLOW_ECHO, '5000', { timeoutMs: 20_000 }));
    await waitUntil(
      async () => (await clusterStats(cluster)).some((s) => s.inFlightSeqId !== 0),
      10_000,
      'the slow call to be running',
    );
    cluster.child.kill('SIGKILL');
    expect(await pending).toBe('ERR_PHOENIX_SERVER_GONE');
    expect(client.getState()).toBe('server-gone');
    expect(await codeOf(client.call(ECHO, 'x'))).toBe('ERR_PHOENIX_SERVER_GONE');
    await waitUntil(
      () =>
        workerPids.every((pid) => {
          try {
            process.kill(pid, 0);
            return processesMentioning(name).length === 0;
          } catch {
            return true;
          }
        }),
      10_000,
      'the workers to exit',
    );
  });

  it('a new supervisor takes the stale segment over (new epoch) and clients reconnect, on the same instance or a new one', async () => {
    const name = harness.name('takeover');
    const first = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0 });
    await first.waitFor('ready');
    const oldEpoch = PhoenixShmLayout.attach(SharedSegment.open(name, { readOnly: true }).buffer).epoch;
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    first.child.kill('SIGKILL');
    await first.exited;
    await waitUntil(() => client.getState() === 'server-gone', 2000, 'server-gone');

    const second = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0 });
    await second.waitFor('ready');
    const segment = SharedSegment.open(name, { readOnly: true });
    expect(PhoenixShmLayout.attach(segment.buffer).epoch).toBe(oldEpoch + 1);
    segment.close();
    await client.connect(5000);
    expect(text.decode((await client.call(ECHO, 'again')).payload)).toBe('again');
    const fresh = harness.track(IpcClient.create(name));
    await fresh.connect(5000);
    expect(text.decode((await fresh.call(ECHO, 'fresh')).payload)).toBe('fresh');
  });

  it('never runs a request of the dead epoch in the new one', async () => {
    const name = harness.name('epoch');
    const log = join(scratch, 'epoch-log');
    writeFileSync(log, '');
    const first = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0 });
    const firstWorkers = ((await first.waitFor('ready')).stats as { pid: number }[]).map((s) => s.pid);
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    const hold = codeOf(client.call(SLEEP_SYNC, '500', { timeoutMs: 20_000 }));
    await waitUntil(
      async () => (await clusterStats(first)).some((s) => s.inFlightSeqId !== 0),
      10_000,
      'the hold to be running',
    );
    const queued = Array.from({ length: 20 }, (_, i) =>
      codeOf(client.call(LOG_ONCE, `${log}\told${i}`, { timeoutMs: 20_000 })),
    );
    await waitUntil(
      async () => (await clusterStats(first)).some((s) => s.queueDepth >= 20),
      10_000,
      'the 20 requests to be queued',
    );
    first.child.kill('SIGKILL');
    expect(await hold).toBe('ERR_PHOENIX_SERVER_GONE');
    expect(new Set(await Promise.all(queued))).toEqual(new Set(['ERR_PHOENIX_SERVER_GONE']));

    const second = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0 });
    await second.waitFor('ready');
    await client.connect(5000);
    await client.call(LOG_ONCE, `${log}\tnew`);
    // Nothing of the dead epoch can still run: its workers are gone, and the new one has nothing left to do.
    await waitUntil(() => firstWorkers.every(hasExited), 10_000, "the dead supervisor's workers to exit");
    await waitUntil(
      async () => (await clusterStats(second)).every((s) => s.inFlightSeqId === 0 && s.queueDepth === 0),
      10_000,
      'the new supervisor to be idle',
    );
    expect(readFileSync(log, 'utf8')).toBe('new\n');
  });

  it('recognises a dead owner whose pid was recycled (same pid, other start time) and takes over', async () => {
    const name = harness.name('recycled');
    const size = PhoenixShmLayout.requiredSize({ normalWorkers: 1, vipWorkers: 0, maxClients: 1 });
    const stale = SharedSegment.open(name, { create: true, exclusive: true, size });
    // A valid segment that names a live pid (ours) with a start time that is not ours.
    PhoenixShmLayout.format(
      stale.buffer,
      { normalWorkers: 1, vipWorkers: 0, maxClients: 1 },
      {
        epoch: 7,
        supervisorPid: process.pid,
        supervisorStartTime: 1,
      },
    );
    stale.close();
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0 }));
    await server.start(WORKER_SCRIPT, [name]);
    const segment = SharedSegment.open(name, { readOnly: true });
    expect(PhoenixShmLayout.attach(segment.buffer).epoch).toBe(8);
    segment.close();
    expect(text.decode((await server.call(ECHO, 'mine now')).payload)).toBe('mine now');
  });

  it('never overwrites a file that starts with our magic but does not validate', async () => {
    const name = harness.name('fake');
    const bytes = Buffer.alloc(8192, 0x5a);
    bytes.writeUInt32LE(0x50484e58, 0); // "PHNX"
    bytes.writeUInt32LE(1, 4); // version 1
    writeFileSync(`/dev/shm${name}`, bytes);
    expect(await codeOf(IpcServer.create(name))).toBe('ERR_PHOENIX_BAD_SEGMENT');
    expect(readFileSync(`/dev/shm${name}`).equals(bytes)).toBe(true);
  });
});
