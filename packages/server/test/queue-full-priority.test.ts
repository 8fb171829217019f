// With onQueueFull 'wait', calls that find their group's rings full wait in
// the caller, one FIFO per group: a call whose group has room goes out at
// once, whatever waits for the other group. Real worker processes; the
// ordering is judged by what had completed when the other call returned.
import { IpcClient } from '@phoenix-ipc/client';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer, Priority } from '../src/index.js';
import { ECHO, SLOW_ECHO } from './fixtures/handlers.mjs';
import { Harness, WORKER_SCRIPT } from './harness.js';

const BACKLOG = 150;
const CAPACITY = 32;

const harness = new Harness();
afterEach(() => harness.cleanup());

async function setUp(): Promise<{ server: IpcServer; client: IpcClient }> {
  const name = harness.name('qfull');
  const server = harness.track(
    await IpcServer.create(name, {
      normalWorkers: 1,
      vipWorkers: 1,
      maxClients: 1,
      normalQueueCapacity: CAPACITY,
      vipQueueCapacity: CAPACITY,
      onQueueFull: 'wait',
    }),
  );
  await server.start(WORKER_SCRIPT, [name]);
  const client = harness.track(IpcClient.create(name, { onQueueFull: 'wait' }));
  await client.connect(10_000);
  return { server, client };
}

describe.each([
  ['a VIP call', 'the normal group', Priority.Normal, Priority.High, 0],
  ['a normal call', 'the VIP group', Priority.High, Priority.Normal, 1],
])('%s while %s is backed up past its queue capacity', (_who, _where, backedUp, other, busyIndex) => {
  it.each(['client', 'supervisor'] as const)('goes out at once from the %s', async (side) => {
    const { server, client } = await setUp();
    const caller = side === 'client' ? client : server;
    let backlogDone = 0;
    const backlog = Array.from({ length: BACKLOG }, () =>
      caller.call(SLOW_ECHO, '10', { priority: backedUp, timeoutMs: 60_000 }).then(() => backlogDone++),
    );
    // The busy worker is running the backlog, and the rest waits in its ring and behind it.
    await waitUntil(() => server.getWorkerStats()[busyIndex]!.inFlightSeqId !== 0, 10_000, 'the backlog to start');
    const reply = await caller.call(ECHO, 'now', { priority: other, timeoutMs: 60_000 });
    const doneWhenAnswered = backlogDone;
    expect(Buffer.from(reply.payload).toString()).toBe('now');
    // Behind the backlog it would have waited for BACKLOG - CAPACITY completions.
    expect(doneWhenAnswered).toBeLessThan(BACKLOG - CAPACITY - 16);
    await Promise.all(backlog);
    expect(backlogDone).toBe(BACKLOG);
  });
});
