import { fileURLToPath } from 'node:url';
import { phoenixFailure } from '@phoenix-ipc/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpcServer } from '../src/index.js';
import { HOSTILE_CASES } from './fixtures/hostile-handlers.mjs';
import { Harness } from './harness.js';

// The codes of fixtures/error-worker.mjs.
const THROWS_PHOENIX = 1201;
const REJECTS_PHOENIX = 1202;
const THROWS_WITH_FIELDS = 1203;
const THROWS_NUMBER = 1204;
const ECHO = 1205;
const HOSTILE = 1206;
const FREEZES_RESPONSE = 1207;
const CALLS_BACK_TWICE = 1208;
const CALLS_BACK_LATE = 1209;
const WORKER = fileURLToPath(new URL('./fixtures/error-worker.mjs', import.meta.url));

const failure = phoenixFailure;

const asJson = (value: unknown) => JSON.stringify(value);

// Both reply paths of the worker: written in place (concurrency 1) and copied (concurrency 2).
describe.each([1, 2])('a handler that throws, concurrency %i', (concurrency) => {
  const harness = new Harness();
  let server: IpcServer;
  beforeAll(async () => {
    const name = harness.name('throws');
    server = harness.track(
      await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1, concurrency }),
    );
    await server.start(WORKER, [name]);
  });
  afterAll(() => harness.cleanup());

  it.each([THROWS_PHOENIX, REJECTS_PHOENIX])(
    'keeps the code, facts and fields of a PhoenixError (func id %i)',
    async (id) => {
      const error = await failure(
        server.callAsync(id, asJson({ code: 'ERR_PHOENIX_TIMEOUT', message: 'the database call timed out' })),
      );
      expect(error.code).toBe('ERR_PHOENIX_TIMEOUT');
      expect(error.message).toBe('the database call timed out');
      expect(error).toMatchObject({
        workerIndex: 3,
        attempt: 2,
        issues: [{ message: 'why', path: ['a'] }],
        funcId: id,
      });
      expect(error).toMatchObject({ retryAfterMs: 250, upstream: { service: 'db', hops: 2 } });
      expect(error.remoteName).toBe('PhoenixError');
    },
  );

  it('passes on ERR_PHOENIX_UNAVAILABLE as a failure, not as a reply', async () => {
    const error = await failure(
      server.callAsync(THROWS_PHOENIX, asJson({ code: 'ERR_PHOENIX_UNAVAILABLE', message: 'nobody home' })),
    );
    expect(error.code).toBe('ERR_PHOENIX_UNAVAILABLE');
  });

  it('turns an error with fields into ERR_PHOENIX_HANDLER_FAILED with a JSON-safe remote', async () => {
    const error = await failure(server.callAsync(THROWS_WITH_FIELDS));
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toBe('the oven is cold');
    expect(error.remoteName).toBe('OvenError');
    expect(error.remoteStack).toContain('the oven is cold');
    expect(error.remote).toEqual({
      name: 'OvenError',
      message: 'the oven is cold',
      code: 'E_COLD',
      degrees: 12,
      since: '1970-01-01T00:00:00.000Z',
      serial: '7',
    });
  });

  it('turns a thrown number into ERR_PHOENIX_HANDLER_FAILED', async () => {
    const error = await failure(server.callAsync(THROWS_NUMBER));
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_HANDLER_FAILED', message: '42' });
  });

  it.each(Object.keys(HOSTILE_CASES))('fails the call, not the worker, when the handler %s', async (what) => {
    const error = await failure(server.callAsync(HOSTILE, what));
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(server.getWorkerStats().every((stats) => stats.crashes === 0)).toBe(true);
  });

  it('serves the next calls after a handler froze the response object it was given', async () => {
    for (let i = 0; i < 3; i++) expect([...(await server.callAsync(FREEZES_RESPONSE)).payload]).toEqual([7]);
    expect(Buffer.from((await server.callAsync(ECHO, 'after')).payload).toString()).toBe('after');
    expect(server.getWorkerStats().every((stats) => stats.crashes === 0)).toBe(true);
  });

  it('answers each call once when a handler returns a Promise subclass whose then() calls back again later', async () => {
    expect(Buffer.from((await server.callAsync(CALLS_BACK_TWICE)).payload).toString()).toBe('first');
    // This handler calls the kept callback with 'late' while it runs: its own call must still get its own reply.
    expect(Buffer.from((await server.callAsync(CALLS_BACK_LATE, 'mine')).payload).toString()).toBe('mine');
    expect(Buffer.from((await server.callAsync(ECHO, 'after')).payload).toString()).toBe('after');
    expect(server.getWorkerStats().every((stats) => stats.crashes === 0)).toBe(true);
  });

  it('keeps serving afterwards', async () => {
    const reply = await server.callAsync(ECHO, 'still here');
    expect(Buffer.from(reply.payload).toString()).toBe('still here');
    expect(server.getWorkerStats().every((stats) => stats.crashes === 0)).toBe(true);
  });
});
