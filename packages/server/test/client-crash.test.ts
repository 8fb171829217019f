import { IpcClient } from '@phoenix-ipc/client';
import { processState, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer } from '../src/index.js';
import { ECHO } from './fixtures/handlers.mjs';
import { busyWorkers, CLIENT_SCRIPT, Harness, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());

async function start(options: object = {}): Promise<{ server: IpcServer; name: string; gone: number[] }> {
  const name = harness.name('client');
  const server = harness.track(
    await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1, ...options }),
  );
  const gone: number[] = [];
  server.on('clientGone', ({ slot }: { slot: number }) => gone.push(slot));
  await server.start(WORKER_SCRIPT, [name]);
  return { server, name, gone };
}

describe('a client process that dies', () => {
  it('loses its pending calls and nothing else: its slot is reclaimed', async () => {
    const { server, name, gone } = await start();
    const client = harness.script(CLIENT_SCRIPT, [name, 'hold']);
    await client.waitFor('connected');
    client.send('call 1003 3000'); // a slow call in flight when it dies
    await waitUntil(() => busyWorkers(server) === 1, 10_000, 'the slow call to be running');
    client.child.kill('SIGKILL');
    // How fast the slot comes back is judged by the stress app (ClientCrash.*: slot reclaim max).
    await waitUntil(() => gone.length === 1, 20_000, 'the slot to be reclaimed');
    const next = harness.track(IpcClient.create(name));
    await next.connect(5000);
    expect(text.decode((await next.call(ECHO, 'mine')).payload)).toBe('mine');
    expect(text.decode((await server.call(ECHO, 'still')).payload)).toBe('still');
  });

  it('does not block the workers with its full response ring', async () => {
    const { server, name, gone } = await start({ maxClients: 2 });
    const flooder = harness.script(CLIENT_SCRIPT, [name, 'flood-and-stop', '64']);
    await flooder.waitFor('flooded');
    // It stops itself (SIGSTOP) just after: frozen, its response ring full of unread replies.
    await waitUntil(() => processState(flooder.pid) === 'T', 10_000, 'the flooder to be stopped');
    for (let i = 0; i < 20; i++)
      expect(text.decode((await server.call(ECHO, `ok${i}`, { timeoutMs: 5000 })).payload)).toBe(`ok${i}`);
    const other = harness.track(IpcClient.create(name));
    await other.connect(5000);
    expect(text.decode((await other.call(ECHO, 'other', { timeoutMs: 5000 })).payload)).toBe('other');
    flooder.child.kill('SIGKILL');
    await waitUntil(() => gone.length === 1, 2000, 'the slot to be reclaimed');
  });

  it('never exhausts the slots over kill/reconnect cycles far beyond maxClients', async () => {
    const { server, name, gone } = await start({ maxClients: 2 });
    for (let cycle = 0; cycle < 12; cycle++) {
      const client = harness.script(CLIENT_SCRIPT, [name, 'hold']);
      await client.waitFor('connected', 10_000);
      client.send('call 1001 hi');
      await client.waitFor('reply', 10_000);
      client.child.kill('SIGKILL');
      await client.exited;
    }
    await waitUntil(() => gone.length === 12, 5000, 'every slot to come back');
    const last = harness.track(IpcClient.create(name));
    await last.connect(2000);
    expect(text.decode((await last.call(ECHO, 'fine')).payload)).toBe('fine');
    expect(server.getWorkerStats()[0]!.crashes).toBe(0);
  }, 120_000);
});
