// An application's listener on the server's events that throws. The error is
// the process's (an uncaught exception on the next tick); the supervisor
// finishes what it was doing when it announced the event: a crashed worker is
// replaced, a departed client's slot is handed back.
import { IpcClient } from '@phoenix-ipc/client';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { ECHO } from './fixtures/handlers.mjs';
import { clusterStats, Harness } from './harness.js';

const harness = new Harness();
afterEach(() => harness.cleanup());

const text = new TextDecoder();

describe('listeners of the server that throw', () => {
  it('never stop a crashed worker from being replaced, nor a departed client slot from being handed back', async () => {
    const name = harness.name('listeners');
    const cluster = harness.cluster(
      name,
      { normalWorkers: 1, vipWorkers: 0, maxClients: 1 },
      { PHOENIX_TEST_LISTENERS_THROW: '1' },
    );
    const [first] = (await cluster.waitFor('ready')).stats as { pid: number }[];
    const said = (event: string) => cluster.messages.some((message) => message.event === event);

    process.kill(first!.pid, 'SIGKILL');
    await waitUntil(() => said('workerRestart'), 10_000, 'the replacement');
    const [worker] = await clusterStats(cluster);
    expect(worker).toMatchObject({ state: 'running', crashes: 1, restarts: 1 });
    expect(worker!.pid).not.toBe(first!.pid);

    // maxClients 1: the second client gets in only if the first one's slot was handed back.
    for (const round of [1, 2]) {
      const client = harness.track(IpcClient.create(name));
      await client.connect(10_000);
      expect(text.decode((await client.call(ECHO, `round ${round}`)).payload)).toBe(`round ${round}`);
      await client.disconnect();
      await waitUntil(() => said('clientGone'), 10_000, 'the client to be gone');
    }
    const uncaught = cluster.messages.filter((message) => 'uncaught' in message).map((message) => message.uncaught);
    for (const event of ['workerCrash', 'workerRestart', 'clientConnected', 'clientGone']) {
      expect(uncaught).toContain(`a bug in the ${event} listener`);
    }
  });
});
