// registerRawHandler: a handler on offsets into shared memory (no views),
// in real worker processes, on both reply paths (written in place at
// concurrency 1, copied at concurrency 2).
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpcServer } from '../src/index.js';
import {
  RAW_ASYNC_ECHO,
  RAW_ECHO,
  RAW_FACTS,
  RAW_RETURNS,
  RAW_SETS_FUNC_ID,
  RAW_THROWS,
} from './fixtures/raw-worker.mjs';
import { failure, Harness } from './harness.js';

const WORKER = fileURLToPath(new URL('./fixtures/raw-worker.mjs', import.meta.url));
const MAX_PAYLOAD = 8192;

function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe.each([1, 2])('a raw handler, concurrency %i', (concurrency) => {
  const harness = new Harness();
  let server: IpcServer;
  beforeAll(async () => {
    const name = harness.name('raw');
    server = harness.track(
      await IpcServer.create(name, {
        normalWorkers: 1,
        vipWorkers: 0,
        maxClients: 1,
        concurrency,
        maxPayloadBytes: MAX_PAYLOAD,
      }),
    );
    await server.start(WORKER, [name]);
  });
  afterAll(() => harness.cleanup());

  it.each([0, 1, 16, 100, 4096, MAX_PAYLOAD])(
    'echoes a %i-byte payload read from and written to offsets',
    async (size) => {
      const payload = pattern(size, size);
      const reply = await server.callAsync(RAW_ECHO, payload);
      expect(reply.payloadLen).toBe(size);
      expect(Buffer.from(reply.payload).equals(Buffer.from(payload))).toBe(true);
    },
  );

  it('answers many calls in flight, each with its own bytes, as the ring wraps', async () => {
    const calls = Array.from({ length: 600 }, (_, i) => pattern(1 + (i % 300), i));
    const replies = await Promise.all(calls.map((payload) => server.callAsync(RAW_ECHO, payload)));
    for (const [i, reply] of replies.entries()) {
      expect(Buffer.from(reply.payload).equals(Buffer.from(calls[i]!))).toBe(true);
    }
  });

  it('may be async: its promise resolves to the length', async () => {
    const payload = pattern(300, 7);
    const replies = await Promise.all([1, 2, 3].map(() => server.callAsync(RAW_ASYNC_ECHO, payload)));
    for (const reply of replies) expect(Buffer.from(reply.payload).equals(Buffer.from(payload))).toBe(true);
  });

  it("gets the request's seq id, func id, length and a room of maxPayloadBytes", async () => {
    const reply = await server.callAsync(RAW_FACTS, pattern(42, 1));
    const facts = JSON.parse(text(reply.payload)) as Record<string, number>;
    expect(facts).toEqual({ seqId: reply.seqId, funcId: RAW_FACTS, length: 42, replyRoom: MAX_PAYLOAD });
  });

  it('sets the reply func id through replyFuncId', async () => {
    const reply = await server.callAsync(RAW_SETS_FUNC_ID);
    expect(reply.funcId).toBe(4343);
    expect(text(reply.payload)).toBe('ok');
  });

  it.each(['"text"', '-1', '1.5', 'null'])('fails ERR_PHOENIX_HANDLER_FAILED when it returns %s', async (returned) => {
    const error = await failure(server.callAsync(RAW_RETURNS, returned));
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toContain(`func id ${RAW_RETURNS}`);
  });

  it('fails ERR_PHOENIX_PAYLOAD_TOO_LARGE when it returns more than its room', async () => {
    const error = await failure(server.callAsync(RAW_RETURNS, '"room+1"'));
    expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect(error.message).toContain(String(MAX_PAYLOAD));
  });

  it('fails ERR_PHOENIX_HANDLER_FAILED with the remote name and message when it throws', async () => {
    const error = await failure(server.callAsync(RAW_THROWS));
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toBe('raw handler threw on purpose');
    expect(error.remoteName).toBe('RangeError');
  });

  it('keeps serving after every failure above', async () => {
    const reply = await server.callAsync(RAW_ECHO, pattern(16, 3));
    expect(Buffer.from(reply.payload).equals(Buffer.from(pattern(16, 3)))).toBe(true);
  });
});

describe('registerRawHandler', () => {
  const harness = new Harness();
  afterAll(() => harness.cleanup());

  it('shares the func ids of registerHandler: a second handler for an id is refused either way', async () => {
    const server = harness.track(await IpcServer.create(harness.name('rawreg'), { normalWorkers: 1, vipWorkers: 0 }));
    server.registerHandler(1234, () => {});
    server.registerRawHandler(1235, () => 0);
    for (const attempt of [
      () => server.registerRawHandler(1234, () => 0),
      () => server.registerHandler(1235, () => {}),
    ]) {
      expect(attempt).toThrowError(expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }));
    }
    expect(server.unregisterHandler(1235)).toBe(true);
    server.registerHandler(1235, () => {});
  });

  it('refuses a handler that is not a function, and a func id out of range', async () => {
    const server = harness.track(await IpcServer.create(harness.name('rawbad'), { normalWorkers: 1, vipWorkers: 0 }));
    expect(() => server.registerRawHandler(1236, 'nope' as never)).toThrowError(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }),
    );
    expect(() => server.registerRawHandler(7, () => 0)).toThrowError(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }),
    );
  });
});
