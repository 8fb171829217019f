import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { PRINTS } from './fixtures/handlers.mjs';
import { Harness } from './harness.js';

// A worker's console is the supervisor's: what a handler logs, and the stack
// a dying worker prints, end up where the supervisor's own output goes.
const harness = new Harness();
afterEach(() => harness.cleanup());

describe("a worker's output", () => {
  it("goes to the supervisor's stdout and stderr", async () => {
    const cluster = harness.cluster(harness.name('output'), { normalWorkers: 1, vipWorkers: 0 });
    const ready = await cluster.waitFor('ready');
    const workerPid = (ready.stats as { pid: number }[])[0]!.pid;
    await cluster.ask(`call ${PRINTS}`, 'called');
    const printed = await cluster.waitFor('printed', 10_000);
    expect(printed).toEqual({ printed: 'from-supervisor', pid: workerPid });
    await waitUntil(() => cluster.stderr.includes('printed from-supervisor'), 10_000, "the worker's stderr line");
  });
});
