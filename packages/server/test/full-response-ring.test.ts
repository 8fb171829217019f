import { cpuTicks, processState, sleep, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer, type WaitStrategy } from '../src/index.js';
import { CLIENT_SCRIPT, Harness, WORKER_SCRIPT } from './harness.js';

const harness = new Harness();
afterEach(() => harness.cleanup());

/**
 * A flooder: 64 calls whose 30 000-byte replies fill its response ring many times over, then SIGSTOP.
 * At concurrency 1 the worker writes replies in place and the requests wait in their ring; above it, finished
 * replies wait in the worker's backlog.
 */
async function floodedAndStopped(waitStrategy: WaitStrategy, concurrency: number) {
  const name = harness.name('full-ring');
  const server = harness.track(
    await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1, waitStrategy, concurrency }),
  );
  await server.start(WORKER_SCRIPT, [name]);
  const flooder = harness.script(CLIENT_SCRIPT, [name, 'flood-and-stop', '64', '30000']);
  await flooder.waitFor('flooded');
  await waitUntil(() => processState(flooder.pid) === 'T', 10_000, 'the flooder to be stopped');
  return { flooder, worker: server.getWorkerStats()[0]!.pid };
}

describe.each([1, 2])('a caller that does not read its replies, concurrency %i', (concurrency) => {
  for (const waitStrategy of ['adaptive', 'block'] as const) {
    it(`leaves its worker waiting, not spinning ('${waitStrategy}'); every call is answered once it reads`, async () => {
      const { flooder, worker } = await floodedAndStopped(waitStrategy, concurrency);
      const before = cpuTicks(worker);
      await sleep(1000); // a window to measure CPU in, not an ordering
      // A worker spinning on the full ring used a whole CPU: ~100 ticks in the second.
      expect(cpuTicks(worker) - before).toBeLessThan(15);
      process.kill(flooder.pid, 'SIGCONT');
      expect((await flooder.waitFor('settled')).settled).toEqual({ ok: 64, failed: 0 });
    });
  }
});
