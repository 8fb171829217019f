import { createRequire } from 'node:module';
import { IpcClient } from '@phoenix-ipc/client';
import { processesMentioning, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer, MsgStatus, PhoenixError, Priority } from '../src/index.js';
import {
  ASYNC_ECHO,
  ECHO,
  EMPTY,
  PEAK_CONCURRENCY,
  ROOM_VIEW,
  SAME_OFFSET,
  SETS_FUNC_ID,
  WHO,
} from './fixtures/handlers.mjs';
import { allIdle, Harness, segmentsWithPrefix, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());

async function startServer(options: object = {}): Promise<{ server: IpcServer; name: string }> {
  const name = harness.name('e2e');
  const server = harness.track(
    await IpcServer.create(name, { normalWorkers: 2, vipWorkers: 1, maxClients: 4, ...options }),
  );
  await server.start(WORKER_SCRIPT, [name]);
  return { server, name };
}

describe('quick start, cluster-style, with a client process', () => {
  it('serves echo and empty calls at normal and VIP priority to a client, then stops leaving nothing behind', async () => {
    const name = harness.name('quick');
    const cluster = harness.cluster(name);
    const ready = await cluster.waitFor('ready', 30_000);
    const stats = ready.stats as { group: string; index: number; alive: boolean }[];
    expect(stats.map((s) => `${s.group}${s.index}`)).toEqual([
      'normal0',
      'normal1',
      'normal2',
      'normal3',
      'vip0',
      'vip1',
    ]);
    expect(stats.every((s) => s.alive)).toBe(true);

    const client = harness.track(IpcClient.create(name));
    await client.connect(10_000);
    expect(client.getState()).toBe('connected');
    const normal = await client.call(ECHO, 'hi', Priority.Normal, 5000);
    expect(text.decode(normal.payload)).toBe('hi');
    const vip = await client.call(ECHO, 'vip', Priority.High, 5000);
    expect(text.decode(vip.payload)).toBe('vip');
    const empty = await client.call(EMPTY, 'x', Priority.Normal, 5000);
    expect(empty.payloadLen).toBe(0);
    expect(empty.payload.length).toBe(0);
    await client.disconnect();

    cluster.send('stop');
    const stopped = await cluster.waitFor('stopped');
    expect(stopped.state).toBe('stopped');
    await cluster.exited;
    expect(segmentsWithPrefix().filter((entry) => `/${entry}` === name)).toEqual([]);
    await waitUntil(() => processesMentioning(name).length === 0, 10_000, 'the workers to exit');
    expect(processesMentioning(name)).toEqual([]);
  });
});

describe('IpcServer (supervisor in this process, workers from a script)', () => {
  it('is the supervisor here and goes created -> running -> stopped', async () => {
    const name = harness.name('states');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1 }));
    expect(server.isWorker).toBe(false);
    expect(server.getState()).toBe('created');
    const starting = server.start(WORKER_SCRIPT, [name]);
    expect(server.getState()).toBe('starting');
    await starting;
    expect(server.getState()).toBe('running');
    const stopping = server.stop();
    expect(server.getState()).toBe('stopping');
    await stopping;
    expect(server.getState()).toBe('stopped');
    expect(segmentsWithPrefix().map((entry) => `/${entry}`)).not.toContain(name);
  });

  it('shares one process exit listener among all the servers of a process (twelve: no MaxListenersExceededWarning)', async () => {
    const before = process.listenerCount('exit');
    const servers = [];
    for (let i = 0; i < 12; i++) servers.push(harness.track(await IpcServer.create(harness.name('many'))));
    expect(process.listenerCount('exit')).toBeLessThanOrEqual(before + 1);
    for (const server of servers) await server.stop();
    expect(process.listenerCount('exit')).toBe(before);
  });

  it('keeps calls with a timeout alive in an app that loads both the ESM and the CommonJS build of our packages', async () => {
    const { server } = await startServer();
    // This module's copy (ESM) reads the clock first...
    expect(text.decode((await server.call(ECHO, 'a', { timeoutMs: 50 })).payload)).toBe('a');
    // ...then the CommonJS copy, as a require() elsewhere in the app would.
    const commonJs = createRequire(import.meta.url)('@phoenix-ipc/native-shm') as { readMonotonicClock(): void };
    commonJs.readMonotonicClock();
    const since = performance.now();
    await waitUntil(() => performance.now() - since > 100, 1000, 'twice the timeout to pass');
    // A frozen clock would date this call 100 ms back: the worker would find it expired.
    expect(text.decode((await server.call(ECHO, 'b', { timeoutMs: 50 })).payload)).toBe('b');
  });

  it('returns a Reply with seqId, funcId, Completed status, payloadLen and an owned copy of the payload', async () => {
    const { server } = await startServer();
    const reply = await server.call(ECHO, Buffer.from('hello'), Priority.Normal, 5000);
    expect(reply.status).toBe(MsgStatus.Completed);
    expect(reply.funcId).toBe(ECHO);
    expect(reply.payloadLen).toBe(5);
    expect(reply.seqId).toBeGreaterThan(0);
    expect(Buffer.from(reply.payload).toString()).toBe('hello');
  });

  it('gives reply payloads as Buffers the caller owns, at every size', async () => {
    const { server } = await startServer();
    for (const size of [0, 16, 100, 1024, 5000, 32 * 1024]) {
      const sent = Buffer.alloc(size, size & 0xff);
      const reply = await server.call(ECHO, sent);
      expect(Buffer.isBuffer(reply.payload)).toBe(true);
      expect(Buffer.compare(reply.payload, sent)).toBe(0);
      // Not a view into the segment: later calls through the same ring slots leave it alone.
      const kept = Buffer.from(reply.payload);
      for (let i = 0; i < 40; i++) await server.call(ECHO, Buffer.alloc(size, 0xee));
      expect(Buffer.compare(reply.payload, kept)).toBe(0);
    }
  });

  it('gives every big reply memory of its own when sizes repeat (the caller readies it while waiting)', async () => {
    // Above half of Node's Buffer pool on every Node (its poolSize is 8 KiB on Node 20 and 22, 64 KiB on Node 24):
    // replies with an ArrayBuffer of their own, which the caller readies while it waits once sizes repeat.
    const { server } = await startServer({ maxPayloadBytes: 64 * 1024 });
    const sizes = [40_000, 40_000, 40_000, 50_000, 40_000, 40_000, 40_000, 40_000];
    const replies: Buffer[] = [];
    for (const [i, size] of sizes.entries()) {
      const sent = Buffer.alloc(size, i + 1);
      const reply = i % 2 === 0 ? await server.callAsync(ECHO, sent) : server.callSync(ECHO, sent);
      replies.push(reply.payload as Buffer);
    }
    for (const [i, payload] of replies.entries()) {
      expect(payload.length).toBe(sizes[i]);
      expect(payload.every((byte) => byte === i + 1)).toBe(true);
    }
    expect(new Set(replies.map((payload) => payload.buffer)).size).toBe(replies.length);
  });

  it('gives each call a new, increasing seq id', async () => {
    const { server } = await startServer();
    const first = await server.call(ECHO, 'a');
    const second = await server.call(ECHO, 'b');
    expect(second.seqId).toBeGreaterThan(first.seqId);
  });

  it('accepts strings (UTF-8), Buffers and Uint8Arrays as payloads', async () => {
    const { server } = await startServer();
    expect(text.decode((await server.call(ECHO, 'héllo ✓')).payload)).toBe('héllo ✓');
    expect(text.decode((await server.call(ECHO, Buffer.from('buf'))).payload)).toBe('buf');
    expect([...(await server.call(ECHO, new Uint8Array([1, 2, 3]))).payload]).toEqual([1, 2, 3]);
  });

  it('sends a list of chunks as one payload, back to back (call, callAsync, callSync)', async () => {
    const { server } = await startServer();
    const chunks = [Buffer.from('gath'), new Uint8Array(0), new TextEncoder().encode('ered ✓')];
    expect(text.decode((await server.call(ECHO, chunks)).payload)).toBe('gathered ✓');
    expect(text.decode((await server.callAsync(ECHO, chunks)).payload)).toBe('gathered ✓');
    expect(text.decode(server.callSync(ECHO, chunks).payload)).toBe('gathered ✓');
  });

  it('takes the longest timeout, 2^31-1 ms, without a Node timer warning', async () => {
    const { server } = await startServer();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      expect(text.decode((await server.call(ECHO, 'long', { timeoutMs: 2 ** 31 - 1 })).payload)).toBe('long');
      // Node emits a warning on the next tick of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('reads a detached chunk (its buffer transferred) as empty, and goes on serving', async () => {
    const { server } = await startServer();
    const gone = new ArrayBuffer(8);
    const detached = new Uint8Array(gone);
    structuredClone(gone, { transfer: [gone] });
    const chunks = [Buffer.from('be'), detached, Buffer.from('fore')];
    expect(text.decode((await server.call(ECHO, chunks)).payload)).toBe('before');
    expect(text.decode(server.callSync(ECHO, chunks).payload)).toBe('before');
    expect(text.decode((await server.call(ECHO, 'after')).payload)).toBe('after');
  });

  it('judges a list of chunks by its total size against maxPayloadBytes', async () => {
    const { server } = await startServer({ maxPayloadBytes: 1024 });
    const half = new Uint8Array(600);
    await expect(server.call(ECHO, [half, half])).rejects.toMatchObject({ code: 'ERR_PHOENIX_PAYLOAD_TOO_LARGE' });
    expect((await server.call(ECHO, [half, half.subarray(0, 424)])).payload.length).toBe(1024);
  });

  it('keeps the chunks of calls that wait for queue space, and sends each whole and in order', async () => {
    const { server } = await startServer({ normalWorkers: 1, vipWorkers: 0, normalQueueCapacity: 2 });
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        server.callAsync(ECHO, [Buffer.from(`call ${i}`), Buffer.from(` of 40`)], { onQueueFull: 'wait' }),
      ),
    );
    expect(replies.map((reply) => text.decode(reply.payload))).toEqual(
      Array.from({ length: 40 }, (_, i) => `call ${i} of 40`),
    );
  });

  it('sends what a waiting call was given, though its caller reuses the buffer at once (round after round)', async () => {
    const { server } = await startServer({ normalWorkers: 1, vipWorkers: 0, normalQueueCapacity: 2 });
    const buffer = Buffer.alloc(1000);
    for (let round = 0; round < 3; round++) {
      const calls: Promise<{ payload: Uint8Array }>[] = [];
      for (let i = 0; i < 40; i++) {
        buffer.fill(round * 40 + i);
        calls.push(server.callAsync(ECHO, buffer, { onQueueFull: 'wait' }));
      }
      const replies = await Promise.all(calls);
      expect(replies.map((reply) => Buffer.from(reply.payload))).toEqual(
        replies.map((_, i) => Buffer.alloc(1000, round * 40 + i)),
      );
    }
  });

  it('lets the handler choose the reply func id', async () => {
    const { server } = await startServer();
    const reply = await server.call(SETS_FUNC_ID, '');
    expect(reply.funcId).toBe(4242);
    expect([...reply.payload]).toEqual([7]);
  });

  it('takes a view of the reply room as the reply, and copies memory of its own that starts at the same offset', async () => {
    const { server } = await startServer();
    expect(text.decode((await server.callAsync(ROOM_VIEW, 'abc')).payload)).toBe('cba');
    expect(text.decode((await server.callAsync(SAME_OFFSET, '')).payload)).toBe('other');
  });

  it('serves async handlers that resolve to a Uint8Array', async () => {
    const { server } = await startServer();
    expect(text.decode((await server.callAsync(ASYNC_ECHO, 'later')).payload)).toBe('later');
  });

  it('takes an options object in place of priority and timeout', async () => {
    const { server } = await startServer();
    const reply = await server.call(WHO, '', { priority: Priority.High, timeoutMs: 5000 });
    expect(text.decode(reply.payload)).toMatch(/ vip 0$/);
    const normal = await server.callAsync(WHO, '', { priority: Priority.Normal });
    expect(text.decode(normal.payload)).toMatch(/ normal \d$/);
  });

  it('routes High priority to the normal group when there are no VIP workers', async () => {
    const { server } = await startServer({ vipWorkers: 0 });
    const reply = await server.call(WHO, '', Priority.High);
    expect(text.decode(reply.payload)).toMatch(/ normal \d$/);
  });

  it('answers callSync synchronously', async () => {
    const { server } = await startServer();
    const reply = server.callSync(ECHO, 'sync', { timeoutMs: 5000 });
    expect(text.decode(reply.payload)).toBe('sync');
    const vip = server.callSync(WHO, '', { priority: Priority.High });
    expect(text.decode(vip.payload)).toMatch(/ vip 0$/);
  });

  it('reports one stats entry per worker with 0-based indices and counts', async () => {
    const { server } = await startServer();
    for (let i = 0; i < 10; i++) await server.call(ECHO, 'x');
    // A worker ends its transaction just after publishing the reply.
    await waitUntil(() => allIdle(server), 10_000, 'every transaction to end');
    const stats = server.getWorkerStats();
    expect(stats.map((s) => [s.group, s.index])).toEqual([
      ['normal', 0],
      ['normal', 1],
      ['vip', 0],
    ]);
    for (const entry of stats) {
      expect(entry.alive).toBe(true);
      expect(entry.pid).toBeGreaterThan(0);
      expect(entry.crashes).toBe(0);
      expect(entry.restarts).toBe(0);
      expect(entry.queueDepth).toBe(0);
      expect(entry.inFlightSeqId).toBe(0);
    }
    expect(stats.reduce((sum, s) => sum + s.processed, 0)).toBe(10);
  });

  it('serves many concurrent calls, each reply matching its request', async () => {
    const { server } = await startServer();
    const calls = Array.from({ length: 5000 }, (_, i) => server.call(ECHO, `m${i}`));
    const replies = await Promise.all(calls);
    replies.forEach((reply, i) => {
      expect(text.decode(reply.payload)).toBe(`m${i}`);
    });
  });

  it('runs async handlers concurrently up to the concurrency option', async () => {
    const { server } = await startServer({ normalWorkers: 1, vipWorkers: 0, concurrency: 4 });
    const replies = await Promise.all(
      [1, 2, 3, 4].map(() => server.call(PEAK_CONCURRENCY, '4', { timeoutMs: 30_000 })),
    );
    expect(replies).toHaveLength(4);
    // Four handlers on one worker ran at the same time (the handler counts them; no wall clock).
    expect(Math.max(...replies.map((reply) => Number(text.decode(reply.payload))))).toBe(4);
  });

  it('throws PhoenixError instances recognisable across copies', async () => {
    const { server } = await startServer();
    const error = await server.call(9999, '').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PhoenixError);
    expect(PhoenixError.isInstance(error)).toBe(true);
  });
});
