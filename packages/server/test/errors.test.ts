// Over 400 lines on purpose: one spec per code of the error catalogue a server or client can raise, most of them
// against one shared server (started once in beforeAll); split, each file would start its own.
import { randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IpcClient } from '@phoenix-ipc/client';
import { countAddedListeners, processesMentioning, waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IpcServer, type PhoenixError, Priority } from '../src/index.js';
import {
  COUNT,
  ECHO,
  EXITS,
  KILLS_SELF,
  READ_COUNT,
  REJECTS,
  SIZED_REPLY,
  SLEEP_SYNC,
  SLOW_ECHO,
  THROWS,
} from './fixtures/handlers.mjs';
import { allIdle, busyWorkers, FIXTURES, failure, Harness, segmentsWithPrefix, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();

function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: PhoenixError) => error.code,
  );
}

function syncCode(fn: () => unknown): string {
  try {
    fn();
    return 'returned';
  } catch (error) {
    return (error as PhoenixError).code;
  }
}

const harness = new Harness();
afterEach(() => harness.cleanup());

// One server shared by the tests that do not disturb it.
const shared = new Harness();
let server: IpcServer;
let sharedName: string;
beforeAll(async () => {
  sharedName = shared.name('shared');
  server = shared.track(
    await IpcServer.create(sharedName, { normalWorkers: 2, vipWorkers: 1, maxClients: 2, maxPayloadBytes: 1024 }),
  );
  await server.start(WORKER_SCRIPT, [sharedName]);
});
afterAll(() => shared.cleanup());

async function dedicated(options: object = {}): Promise<{ server: IpcServer; name: string }> {
  const name = harness.name('err');
  const own = harness.track(
    await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2, ...options }),
  );
  await own.start(WORKER_SCRIPT, [name]);
  return { server: own, name };
}

describe('ERR_PHOENIX_NO_HANDLER', () => {
  it('answers a func id no worker registered', async () => {
    const error = (await server.call(4000, 'x').catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_NO_HANDLER');
    expect(error.message).toContain('4000');
  });
});

describe('ERR_PHOENIX_HANDLER_FAILED', () => {
  it('carries the message of a handler that threw, and the worker goes on', async () => {
    const error = (await server.call(THROWS, '').catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toBe('handler threw on purpose');
    expect(error.remoteStack).toContain('handler threw on purpose');
    expect(text.decode((await server.call(ECHO, 'still here')).payload)).toBe('still here');
    expect(server.getWorkerStats().every((s) => s.crashes === 0)).toBe(true);
  });

  it('carries the message of a handler that rejected', async () => {
    const error = (await server.call(REJECTS, '').catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toBe('handler rejected on purpose');
  });
});

describe('ERR_PHOENIX_PAYLOAD_TOO_LARGE', () => {
  it('rejects a request above maxPayloadBytes and accepts one exactly at it', async () => {
    expect(await codeOf(server.call(ECHO, new Uint8Array(1025)))).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect((await server.call(ECHO, new Uint8Array(1024))).payloadLen).toBe(1024);
  });

  it('answers a reply above maxPayloadBytes with the error, and one at it with the reply', async () => {
    expect(await codeOf(server.call(SIZED_REPLY, '1025'))).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect((await server.call(SIZED_REPLY, '1024')).payloadLen).toBe(1024);
  });
});

describe('ERR_PHOENIX_INVALID_ARGUMENT', () => {
  it.each(['', 'no-slash', '/', '/a/b', `/${'n'.repeat(255)}`, '/nul\0here'])(
    'refuses the segment name %j',
    async (name) => {
      expect(await codeOf(IpcServer.create(name))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(syncCode(() => IpcClient.create(name))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    },
  );

  it('accepts a name of 255 bytes', async () => {
    expect(syncCode(() => IpcClient.create(`/${'n'.repeat(254)}`))).toBe('returned');
  });

  it.each([
    [{ normalWorkers: 0 }, 'normalWorkers'],
    [{ vipWorkers: -1 }, 'vipWorkers'],
    [{ normalQueueCapacity: 1000 }, 'normalQueueCapacity'],
    [{ maxPayloadBytes: -5 }, 'maxPayloadBytes'],
    [{ maxClients: 1.5 }, 'maxClients'],
    [{ hangTimeoutMs: 0 }, 'hangTimeoutMs'],
    [{ concurrency: 'four' }, 'concurrency'],
    [{ onQueueFull: 'maybe' }, 'onQueueFull'],
    [{ defaultTimeoutMs: -1 }, 'defaultTimeoutMs'],
    [{ waitStrategy: 'fast' }, 'waitStrategy'],
    [{ onWorkerCrash: 'retry' }, 'onWorkerCrash'],
    [{ restartBackoff: { factor: 0.5 } }, 'restartBackoff.factor'],
    [{ crashLoop: { maxCrashes: 0 } }, 'crashLoop.maxCrashes'],
    [{ startTimeoutMs: 3e9 }, 'startTimeoutMs'],
    [{ restartBackoff: { maxMs: 2 ** 31 } }, 'restartBackoff.maxMs'],
    [{ restartBackoff: { initialMS: 10 } }, 'restartBackoff has no key "initialMS"'],
    [{ crashLoop: { maxCrash: 3 } }, 'crashLoop has no key "maxCrash"'],
    [{ recycleAfter: { call: 10 } }, 'recycleAfter has no key "call"'],
    [{ onWorkerCrash: { retries: 1, retry: 2 } }, 'onWorkerCrash has no key "retry"'],
    [{ nestedSupervisor: 'yes' }, 'nestedSupervisor'],
    [{ replyBatch: 0 }, 'replyBatch'],
    [{ replyBatch: 65 }, 'replyBatch'],
    [{ replyBatch: 2.5 }, 'replyBatch'],
    [{ workerEnv: 'PATH=/bin' }, 'workerEnv'],
    [{ workerEnv: { 'A=B': 'c' } }, 'workerEnv'],
    [{ workerEnv: { PATH: 42 } }, 'workerEnv.PATH'],
    [{ noSuchOption: 1 }, 'noSuchOption (1)'],
    [{ normalWorker: 2 }, 'normalWorker (2)'],
  ])('refuses the option %j, naming it', async (options, option) => {
    const name = harness.name('opt');
    const error = (await IpcServer.create(name, options as object).catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain(option);
    expect(segmentsWithPrefix().map((entry) => `/${entry}`)).not.toContain(name);
  });

  it('refuses a bigint option value with ERR_PHOENIX_INVALID_ARGUMENT, shown as written', async () => {
    for (const [options, shown] of [
      [{ normalWorker: 2n }, 'normalWorker (2n)'],
      [{ hangTimeoutMs: 5000n }, 'got 5000n'],
      [{ normalWorkers: 2n }, '2n'],
    ] as const) {
      const error = (await IpcServer.create(harness.name('opt'), options as object).catch(
        (e: unknown) => e,
      )) as PhoenixError;
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toContain(shown);
    }
  });

  it('refuses bad client options, naming them', () => {
    for (const [options, option] of [
      [{ onQueueFull: 'never' }, 'onQueueFull'],
      [{ defaultTimeoutMs: 'soon' }, 'defaultTimeoutMs'],
      [{ waitStrategy: 'yield' }, 'waitStrategy'],
      [{ retainFreedMemoryMb: -1 }, 'retainFreedMemoryMb'],
      [{ timeoutMs: 5 }, 'timeoutMs (5)'],
    ] as const) {
      let error: PhoenixError | undefined;
      try {
        IpcClient.create('/fine', options as object);
      } catch (e) {
        error = e as PhoenixError;
      }
      expect(error?.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error?.message).toContain(option);
    }
  });

  it.each([0, 1, 500, 1000, -1, 2 ** 32, 1.5, Number.NaN, '1001'])('refuses to register func id %j', (funcId) => {
    expect(syncCode(() => server.registerHandler(funcId as number, () => {}))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('refuses a handler that is not a function', () => {
    expect(syncCode(() => server.registerHandler(1001, 'nope' as never))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it.each([0, -1, 2 ** 32, 1.5, 999])('rejects a call to func id %j', async (funcId) => {
    expect(await codeOf(server.call(funcId, 'x'))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('rejects bad priorities, timeouts and payloads', async () => {
    expect(await codeOf(server.call(ECHO, 'x', 7 as Priority))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(await codeOf(server.call(ECHO, 'x', Priority.Normal, -5))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(await codeOf(server.call(ECHO, 'x', { timeoutMs: Number.NaN }))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(await codeOf(server.call(ECHO, 42 as never))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(syncCode(() => server.callSync(ECHO, 'x', { signal: new AbortController().signal } as never))).toBe(
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
  });

  it('rejects a misspelt call option instead of leaving its default in place', async () => {
    const error = await failure(server.call(ECHO, 'x', { timeout: 50 } as never));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain('unknown call option timeout');
    expect(syncCode(() => server.callSync(ECHO, 'x', { priorty: Priority.High } as never))).toBe(
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
  });
});

describe('ERR_PHOENIX_TIMEOUT', () => {
  it('rejects a call whose reply does not come in time, and drops the late reply', async () => {
    const error = (await server.call(SLOW_ECHO, '400', Priority.Normal, 100).catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_TIMEOUT');
    // The late reply is published (or the unstarted request cancelled) before the next call.
    await waitUntil(() => allIdle(server), 10_000, 'the slow call to end');
    expect(text.decode((await server.call(ECHO, 'next')).payload)).toBe('next');
  });

  it('cancels a request no worker has started: it never runs', async () => {
    const { server: own } = await dedicated();
    const busy = own.call(SLEEP_SYNC, '400', { timeoutMs: 5000 });
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    expect(await codeOf(own.call(COUNT, '', { timeoutMs: 100 }))).toBe('ERR_PHOENIX_TIMEOUT');
    await busy;
    expect(text.decode((await own.call(READ_COUNT, '')).payload)).toBe('0');
  });

  it('starts the timeout when the request is sent, not while synchronous code still holds the thread', async () => {
    const pending = server.call(ECHO, 'sent late', { timeoutMs: 100 });
    // The request goes out when this code yields; its 100 ms start then.
    const busyUntil = performance.now() + 200;
    while (performance.now() < busyUntil);
    expect(text.decode((await pending).payload)).toBe('sent late');
  });

  it('callSync names the signal or exit code of a worker that dies while it waits', async () => {
    const { server: own } = await dedicated();
    for (const [funcId, facts] of [
      [EXITS, { signal: null, exitCode: 3 }],
      [KILLS_SELF, { signal: 'SIGKILL', exitCode: null }],
    ] as const) {
      let error: PhoenixError | undefined;
      try {
        own.callSync(funcId, '', { timeoutMs: 10_000 });
      } catch (e) {
        error = e as PhoenixError;
      }
      expect(error).toMatchObject({ code: 'ERR_PHOENIX_WORKER_CRASHED', reason: 'exit', ...facts });
      expect(error?.message).toContain(facts.signal ?? `exit code ${facts.exitCode}`);
      const dead = error?.pid;
      await waitUntil(
        () => own.getWorkerStats()[0]!.alive && own.getWorkerStats()[0]!.pid !== dead,
        10_000,
        'the replacement',
      );
    }
  });

  it('honours timeoutMs in callSync', async () => {
    const { server: own } = await dedicated();
    const busy = own.call(SLEEP_SYNC, '300', { timeoutMs: 5000 }).catch(() => undefined);
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    const started = Date.now();
    expect(syncCode(() => own.callSync(ECHO, 'x', { timeoutMs: 100 }))).toBe('ERR_PHOENIX_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    await busy;
  });
});

describe('ERR_PHOENIX_ABORTED', () => {
  it('rejects when the signal aborts, cancelling the unstarted request', async () => {
    const { server: own } = await dedicated();
    const busy = own.call(SLEEP_SYNC, '300', { timeoutMs: 5000 });
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    const controller = new AbortController();
    const pending = own.callAsync(COUNT, '', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await codeOf(pending)).toBe('ERR_PHOENIX_ABORTED');
    await busy;
    expect(text.decode((await own.call(READ_COUNT, '')).payload)).toBe('0');
  });

  it('cancels a call aborted in the tick it was made, before its request left: it never runs', async () => {
    const { server: own } = await dedicated();
    const controller = new AbortController();
    const pending = own.callAsync(COUNT, '', { signal: controller.signal });
    const after = own.callAsync(ECHO, 'after');
    controller.abort();
    expect(await codeOf(pending)).toBe('ERR_PHOENIX_ABORTED');
    expect(text.decode((await after).payload)).toBe('after');
    expect(text.decode((await own.call(READ_COUNT, '')).payload)).toBe('0');
  });

  it('shares one signal among many calls with one listener on it, and aborts them all', async () => {
    const { server: own } = await dedicated();
    const busy = own.call(SLEEP_SYNC, '300', { timeoutMs: 5000 });
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const pending = Array.from({ length: 50 }, () => own.callAsync(COUNT, '', { signal: controller.signal }));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      controller.abort();
      expect(await Promise.all(pending.map(codeOf))).toEqual(pending.map(() => 'ERR_PHOENIX_ABORTED'));
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      await busy;
      expect(text.decode((await own.call(READ_COUNT, '')).payload)).toBe('0');
      // Calls that settle leave the signal as they found it, once their caller has gone idle.
      const kept = new AbortController();
      await Promise.all(Array.from({ length: 20 }, (_, i) => own.callAsync(ECHO, `${i}`, { signal: kept.signal })));
      await waitUntil(() => getEventListeners(kept.signal, 'abort').length === 0, 5000, 'the listener to go');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('listens on a signal given to one call after another once, not once per call', async () => {
    const controller = new AbortController();
    const adds = countAddedListeners(controller.signal);
    for (let i = 0; i < 50; i++) await server.callAsync(ECHO, `${i}`, { signal: controller.signal });
    expect(adds()).toBeLessThan(50);
    await waitUntil(() => getEventListeners(controller.signal, 'abort').length === 0, 5000, 'the listener to go');
  });

  it('leaves no listener on a signal when its client disconnects with calls still waiting on it', async () => {
    const { server: own, name } = await dedicated();
    const client = harness.track(IpcClient.create(name));
    await client.connect(10_000);
    const controller = new AbortController();
    const busy = client.call(SLEEP_SYNC, '300', { timeoutMs: 5000, signal: controller.signal });
    const waiting = client.callAsync(COUNT, '', { signal: controller.signal });
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    await client.disconnect();
    expect(await codeOf(busy)).toBe('ERR_PHOENIX_NOT_CONNECTED');
    expect(await codeOf(waiting)).toBe('ERR_PHOENIX_NOT_CONNECTED');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('rejects at once with an already aborted signal', async () => {
    expect(await codeOf(server.call(ECHO, 'x', { signal: AbortSignal.abort() }))).toBe('ERR_PHOENIX_ABORTED');
  });
});

describe('ERR_PHOENIX_WORKER_CRASHED', () => {
  it('answers the request a worker died on, with the crash details', async () => {
    const { server: own } = await dedicated();
    const pid = own.getWorkerStats()[0]!.pid;
    const error = (await own.call(EXITS, '', { timeoutMs: 10_000 }).catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    expect(error).toMatchObject({
      group: 'normal',
      workerIndex: 0,
      pid,
      signal: null,
      exitCode: 3,
      reason: 'exit',
      attempt: 1,
    });
    expect(error.seqId).toBeGreaterThan(0);
    expect(error.message).toContain('exit code 3');
  });
});

describe('ERR_PHOENIX_WORKER_START_FAILED', () => {
  it('rejects start() for a worker script that does not exist; the server is stopped and gone', async () => {
    const name = harness.name('nostart');
    const own = harness.track(await IpcServer.create(name, { normalWorkers: 2, vipWorkers: 1 }));
    const error = (await own.start(`${FIXTURES}does-not-exist.mjs`).catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_WORKER_START_FAILED');
    expect(own.getState()).toBe('stopped');
    expect(segmentsWithPrefix().map((entry) => `/${entry}`)).not.toContain(name);
    expect(processesMentioning(name)).toEqual([]);
  });

  it('names why a worker could not be spawned (a supervisor out of fds), leaving no child', async () => {
    const name = harness.name('nofds');
    const cluster = harness.cluster(
      name,
      { normalWorkers: 1, vipWorkers: 0, maxClients: 2 },
      { PHOENIX_TEST_FREE_FDS: '4' },
      { fdLimit: 128 },
    );
    const failed = await cluster.waitFor('startFailed', 20_000);
    expect(failed.startFailed).toBe('ERR_PHOENIX_WORKER_START_FAILED');
    expect(failed.message).toMatch(/failed: (Too many open files|Bad file descriptor)/);
    await cluster.exited;
    expect(processesMentioning(name)).toEqual([]);
    expect(segmentsWithPrefix().map((entry) => `/${entry}`)).not.toContain(name);
  });

  it('rejects start() when a worker exits before serving, leaving no child', async () => {
    const name = harness.name('exitstart');
    const own = harness.track(await IpcServer.create(name, { normalWorkers: 2, vipWorkers: 0 }));
    const error = (await own.start(`${FIXTURES}exits-at-once.mjs`).catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_WORKER_START_FAILED');
    expect(own.getState()).toBe('stopped');
    await waitUntil(() => processesMentioning(name).length === 0, 10_000, 'the failed workers to be gone');
    expect(processesMentioning(name)).toEqual([]);
    expect(segmentsWithPrefix().map((entry) => `/${entry}`)).not.toContain(name);
  });
});

describe('ERR_PHOENIX_SEGMENT_EXISTS', () => {
  it('refuses a name a live supervisor owns (same process)', async () => {
    expect(await codeOf(IpcServer.create(sharedName))).toBe('ERR_PHOENIX_SEGMENT_EXISTS');
  });

  it('gives one of two supervisors that create a name at the same instant the name, the other this error', async () => {
    // The loser used to look at the winner's segment before it was formatted and call it ERR_PHOENIX_BAD_SEGMENT.
    const gates = mkdtempSync(join(tmpdir(), 'phx-race-'));
    try {
      for (let round = 0; round < 5; round++) {
        const name = harness.name(`race${round}`);
        const gate = join(gates, String(round));
        // A segment of some 100 MB: sizing it takes milliseconds, the window the loser used to fall into.
        const options = { normalWorkers: 1, vipWorkers: 0, maxPayloadBytes: 4 * 1024 * 1024 };
        const pair = [0, 1].map(() => harness.cluster(name, options, { PHOENIX_TEST_START_WHEN: gate }));
        await Promise.all(pair.map((cluster) => cluster.waitFor('waiting')));
        writeFileSync(gate, '');
        const outcomes = await Promise.all(
          pair.map(async (cluster) => {
            await waitUntil(() => cluster.messages.some((m) => 'ready' in m || 'createFailed' in m), 30_000, 'create');
            return cluster.messages.find((m) => 'ready' in m) !== undefined
              ? 'created'
              : String(cluster.messages.find((m) => 'createFailed' in m)!.createFailed);
          }),
        );
        expect(outcomes.sort()).toEqual(['ERR_PHOENIX_SEGMENT_EXISTS', 'created']);
        await Promise.all(pair.map((cluster) => cluster.stop('stop')));
      }
    } finally {
      rmSync(gates, { recursive: true, force: true });
    }
  }, 120_000);

  it('refuses a name a live supervisor in another process owns', async () => {
    const name = harness.name('owned');
    const cluster = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0 });
    await cluster.waitFor('ready');
    expect(await codeOf(IpcServer.create(name))).toBe('ERR_PHOENIX_SEGMENT_EXISTS');
  });
});

describe('ERR_PHOENIX_QUEUE_FULL', () => {
  it("rejects at once when the worker's queue is full and onQueueFull is 'reject'", async () => {
    const { server: own } = await dedicated({ normalQueueCapacity: 2, onQueueFull: 'reject' });
    const busy = own.call(SLEEP_SYNC, '300', { timeoutMs: 5000 });
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    const codes = await Promise.all(Array.from({ length: 6 }, () => codeOf(own.call(ECHO, 'x', { timeoutMs: 5000 }))));
    expect(codes).toContain('ERR_PHOENIX_QUEUE_FULL');
    expect(codes).toContain('resolved');
    await busy;
  });

  it("waits for room by default ('wait'), and a per-call 'reject' overrides it", async () => {
    const { server: own } = await dedicated({ normalQueueCapacity: 2 });
    const busy = own.call(SLEEP_SYNC, '200', { timeoutMs: 5000 });
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    const waiting = Array.from({ length: 6 }, (_, i) => own.call(ECHO, `w${i}`, { timeoutMs: 5000 }));
    expect(await codeOf(own.call(ECHO, 'r', { onQueueFull: 'reject' }))).toBe('ERR_PHOENIX_QUEUE_FULL');
    const replies = await Promise.all(waiting);
    expect(replies.map((r) => text.decode(r.payload))).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5']);
    await busy;
  });

  it('sends what a waiting call was given, even when the caller reuses that memory at once', async () => {
    const { server: own } = await dedicated({ normalQueueCapacity: 2 });
    const busy = own.call(SLEEP_SYNC, '200', { timeoutMs: 5000 });
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    const scratch = Buffer.alloc(2);
    const waiting = Array.from({ length: 6 }, (_, i) => {
      scratch.write(`w${i}`);
      return own.call(ECHO, scratch, { timeoutMs: 5000 });
    });
    scratch.write('xx');
    const replies = await Promise.all(waiting);
    expect(replies.map((r) => text.decode(r.payload))).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5']);
    await busy;
  });
});

describe('ERR_PHOENIX_UNAVAILABLE', () => {
  it('rejects calls before start and after stop', async () => {
    const name = harness.name('unavail');
    const own = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0 }));
    expect(await codeOf(own.call(ECHO, 'x'))).toBe('ERR_PHOENIX_UNAVAILABLE');
    await own.start(WORKER_SCRIPT, [name]);
    const stopping = own.stop();
    expect(await codeOf(own.call(ECHO, 'x'))).toBe('ERR_PHOENIX_UNAVAILABLE');
    await stopping;
    expect(await codeOf(own.call(ECHO, 'x'))).toBe('ERR_PHOENIX_UNAVAILABLE');
  });
});

describe('after stop()', () => {
  it('getWorkerStats() and metrics() still answer: every worker stopped, with its counts', async () => {
    const name = harness.name('stats-after-stop');
    const own = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 1 }));
    await own.start(WORKER_SCRIPT, [name]);
    await own.call(ECHO, 'x');
    await waitUntil(() => own.getWorkerStats()[0]!.processed === 1, 10_000, 'the call counted');
    await own.stop();
    const stats = own.getWorkerStats();
    expect(stats.map((s) => [s.group, s.index, s.state, s.alive])).toEqual([
      ['normal', 0, 'stopped', false],
      ['vip', 0, 'stopped', false],
    ]);
    expect(stats[0]!.processed).toBe(1);
    expect(own.metrics().workers).toEqual(stats);
  });

  it.each([null, 'now', 5, [], { grace: 10 }])(
    'stop(%j) is refused with ERR_PHOENIX_INVALID_ARGUMENT',
    async (options) => {
      const own = harness.track(await IpcServer.create(harness.name('stop-args'), { normalWorkers: 1, vipWorkers: 0 }));
      expect(await codeOf(own.stop(options as never))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    },
  );
});

describe('ERR_PHOENIX_SERVER_GONE', () => {
  it('fails what is left after the grace period, for the supervisor and its clients', async () => {
    const { server: own, name } = await dedicated();
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    const own1 = codeOf(own.call(SLOW_ECHO, '2000', { timeoutMs: 10_000 }));
    const theirs = codeOf(client.call(SLOW_ECHO, '2000', { timeoutMs: 10_000 }));
    // One runs, the other waits in the queue behind it.
    await waitUntil(
      () => own.getWorkerStats().some((s) => s.inFlightSeqId !== 0 && s.queueDepth >= 1),
      10_000,
      'one call running and one queued',
    );
    await own.stop({ graceMs: 100 });
    expect(await own1).toBe('ERR_PHOENIX_SERVER_GONE');
    expect(await theirs).toBe('ERR_PHOENIX_SERVER_GONE');
    expect(client.getState()).toBe('server-gone');
    expect(await codeOf(client.call(ECHO, 'x'))).toBe('ERR_PHOENIX_SERVER_GONE');
  });

  it('lets in-flight work finish within the grace period', async () => {
    const { server: own } = await dedicated();
    const pending = own.call(SLOW_ECHO, '200', { timeoutMs: 10_000 });
    await waitUntil(() => busyWorkers(own) === 1, 10_000, 'the worker to be busy');
    await own.stop({ graceMs: 3000 });
    expect(text.decode((await pending).payload)).toBe('200');
  });
});

describe('client connection errors', () => {
  it('ERR_PHOENIX_BUSY when every client slot stays taken', async () => {
    const { name } = await dedicated({ maxClients: 1 });
    const first = harness.track(IpcClient.create(name));
    await first.connect(5000);
    const second = harness.track(IpcClient.create(name));
    const busy = (await second.connect(300).catch((e: unknown) => e)) as PhoenixError;
    expect(busy.message).toContain('slot');
    expect(busy.code).toBe('ERR_PHOENIX_BUSY');
    await first.disconnect();
    await second.connect(5000);
    expect(second.isConnected()).toBe(true);
  });

  it('ERR_PHOENIX_NOT_CONNECTED before connect, after a failed connect and after disconnect', async () => {
    const client = harness.track(IpcClient.create(sharedName));
    expect(await codeOf(client.call(ECHO, 'x'))).toBe('ERR_PHOENIX_NOT_CONNECTED');
    const missing = harness.track(IpcClient.create(harness.name('missing')));
    expect(await codeOf(missing.connect(100))).toBe('ERR_PHOENIX_CONNECT_TIMEOUT');
    expect(await codeOf(missing.call(ECHO, 'x'))).toBe('ERR_PHOENIX_NOT_CONNECTED');
    await client.connect(5000);
    expect(text.decode((await client.call(ECHO, 'in')).payload)).toBe('in');
    await client.disconnect();
    expect(client.getState()).toBe('disconnected');
    expect(await codeOf(client.call(ECHO, 'x'))).toBe('ERR_PHOENIX_NOT_CONNECTED');
    expect(syncCode(() => client.callSync(ECHO, 'x'))).toBe('ERR_PHOENIX_NOT_CONNECTED');
  });

  it('ERR_PHOENIX_CONNECT_TIMEOUT for a name that does not exist, without leaving anything behind', async () => {
    const name = harness.name('nothing');
    const client = harness.track(IpcClient.create(name));
    const started = Date.now();
    expect(await codeOf(client.connect(200))).toBe('ERR_PHOENIX_CONNECT_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(client.getState()).toBe('disconnected');
    expect(segmentsWithPrefix().map((entry) => `/${entry}`)).not.toContain(name);
  });

  it('ERR_PHOENIX_BAD_SEGMENT at once for a foreign file at the name, which is never overwritten', async () => {
    const name = harness.name('foreign');
    const bytes = randomBytes(64 * 1024);
    writeFileSync(`/dev/shm${name}`, bytes);
    const client = harness.track(IpcClient.create(name));
    // At once: a connect that waited for a segment instead would outlast the test's watchdog.
    expect(await codeOf(client.connect(600_000))).toBe('ERR_PHOENIX_BAD_SEGMENT');
    expect(await codeOf(IpcServer.create(name))).toBe('ERR_PHOENIX_BAD_SEGMENT');
    expect(readFileSync(`/dev/shm${name}`).equals(bytes)).toBe(true);
  });

  it('waits for a segment that is still being created (an empty file) until the timeout', async () => {
    const name = harness.name('empty');
    writeFileSync(`/dev/shm${name}`, Buffer.alloc(0));
    const client = harness.track(IpcClient.create(name));
    expect(await codeOf(client.connect(200))).toBe('ERR_PHOENIX_CONNECT_TIMEOUT');
  });
});
