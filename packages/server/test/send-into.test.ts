// sendInto: callInto without a promise. The outcome goes to a handler
// object, once, never before sendInto returns; a handler may call again at
// once. Real worker processes, from the supervisor and from a client.
import { IpcClient } from '@phoenix-ipc/client';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer, type PhoenixError, type Reply, type ReplyHandler, type WaitStrategy } from '../src/index.js';
import { ECHO, KILLS_SELF, SIZED_REPLY, SLOW_ECHO, THROWS } from './fixtures/handlers.mjs';
import { Harness, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();
const harness = new Harness();
afterEach(() => harness.cleanup());

async function start(waitStrategy: WaitStrategy = 'adaptive'): Promise<{ server: IpcServer; name: string }> {
  const name = harness.name(`send-${waitStrategy}`);
  const server = harness.track(
    await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1, waitStrategy }),
  );
  await server.start(WORKER_SCRIPT, [name]);
  return { server, name };
}

interface Outcome {
  reply: Reply | null;
  error: PhoenixError | null;
  /** The handler was called before sendInto returned. */
  early: boolean;
  /** Calls of the handler, counted a while after the first. */
  calls: number;
}

/** Sends one call and resolves with what its handler got. */
function outcomeOf(send: (handler: ReplyHandler) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    let returned = false;
    const outcome: Outcome = { reply: null, error: null, early: false, calls: 0 };
    const got = () => {
      outcome.early = !returned;
      if (++outcome.calls === 1) setTimeout(() => resolve(outcome), 20);
    };
    send({
      onReply: (reply) => {
        outcome.reply = reply;
        got();
      },
      onError: (error) => {
        outcome.error = error;
        got();
      },
    });
    returned = true;
  });
}

describe('sendInto', () => {
  it("hands the reply, copied into the caller's buffer, to onReply after it returns", async () => {
    const { server } = await start();
    const target = new Uint8Array(64);
    const outcome = await outcomeOf((handler) => server.sendInto(ECHO, 'into the buffer', target, handler));
    expect(outcome).toMatchObject({ error: null, early: false, calls: 1 });
    expect(outcome.reply!.payload.buffer).toBe(target.buffer);
    expect(text.decode(outcome.reply!.payload)).toBe('into the buffer');
  });

  it.each(['adaptive', 'spin', 'block'] as const)(
    "serves a closed loop of 64 chains from a client, each calling again from onReply ('%s')",
    async (waitStrategy) => {
      const { name } = await start(waitStrategy);
      const client = harness.track(IpcClient.create(name, { waitStrategy }));
      await client.connect(5000);
      const total = 20_000;
      let issued = 0;
      let answered = 0;
      const wrong: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const chain = (slot: number) => {
          const target = new Uint8Array(32);
          let expected = '';
          const handler: ReplyHandler = {
            onReply: (reply) => {
              if (text.decode(reply.payload) !== expected) wrong.push(`${text.decode(reply.payload)} != ${expected}`);
              if (++answered === total) resolve();
              else next();
            },
            onError: reject,
          };
          const next = () => {
            if (issued >= total) return;
            expected = `${slot}:${issued++}`;
            client.sendInto(ECHO, expected, target, handler);
          };
          next();
        };
        for (let slot = 0; slot < 64; slot++) chain(slot);
      });
      expect(wrong).toEqual([]);
      expect(answered).toBe(total);
    },
    60_000,
  );

  it('lets timers run while a chain of calls made from onReply goes on', async () => {
    const { name } = await start();
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    let stop = false;
    let answered = 0;
    const target = new Uint8Array(8);
    const chainEnded = new Promise<void>((resolve, reject) => {
      const handler: ReplyHandler = {
        onReply: () => {
          answered++;
          if (stop) resolve();
          else client.sendInto(ECHO, 'ping', target, handler);
        },
        onError: reject,
      };
      client.sendInto(ECHO, 'ping', target, handler);
    });
    // The chain never waits for the event loop by itself; the pump must still give it turns:
    // ten 1 ms timers fire, one after the other, while the chain answers calls.
    const answeredAtTick: number[] = [];
    await new Promise<void>((resolve) => {
      const tick = () => {
        answeredAtTick.push(answered);
        if (answeredAtTick.length === 10) resolve();
        else setTimeout(tick, 1);
      };
      setTimeout(tick, 1);
    });
    stop = true;
    await chainEnded;
    expect(answeredAtTick[9]!).toBeGreaterThan(answeredAtTick[0]!);
  });

  it('fails ERR_PHOENIX_PAYLOAD_TOO_LARGE through onError when the reply does not fit the buffer', async () => {
    const { server } = await start();
    const outcome = await outcomeOf((handler) => server.sendInto(SIZED_REPLY, '100', new Uint8Array(10), handler));
    expect(outcome).toMatchObject({ reply: null, early: false, calls: 1 });
    expect(outcome.error!.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
  });

  it("passes on a handler's failure, a timeout and an abort through onError", async () => {
    const { server } = await start();
    const thrown = await outcomeOf((handler) => server.sendInto(THROWS, '', new Uint8Array(8), handler));
    expect(thrown.error!.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    const late = await outcomeOf((handler) =>
      server.sendInto(SLOW_ECHO, '2000', new Uint8Array(8), handler, { timeoutMs: 50 }),
    );
    expect(late.error!.code).toBe('ERR_PHOENIX_TIMEOUT');
    const controller = new AbortController();
    const aborted = outcomeOf((handler) =>
      server.sendInto(SLOW_ECHO, '2000', new Uint8Array(8), handler, { signal: controller.signal }),
    );
    controller.abort();
    expect((await aborted).error!.code).toBe('ERR_PHOENIX_ABORTED');
  });

  it.each([
    ['a func id out of range', (h: ReplyHandler, s: IpcServer) => s.sendInto(7, '', new Uint8Array(8), h)],
    ['a target that is not a Uint8Array', (h: ReplyHandler, s: IpcServer) => s.sendInto(ECHO, '', [] as never, h)],
    [
      'a payload of the wrong type',
      (h: ReplyHandler, s: IpcServer) => s.sendInto(ECHO, 42 as never, new Uint8Array(8), h),
    ],
  ])('reports %s through onError (ERR_PHOENIX_INVALID_ARGUMENT), after it returns', async (_what, send) => {
    const { server } = await start();
    const outcome = await outcomeOf((handler) => send(handler, server));
    expect(outcome).toMatchObject({ reply: null, early: false, calls: 1 });
    expect(outcome.error!.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('reports ERR_PHOENIX_NOT_CONNECTED through onError for a client that is not connected', async () => {
    const { name } = await start();
    const client = harness.track(IpcClient.create(name));
    const outcome = await outcomeOf((handler) => client.sendInto(ECHO, '', new Uint8Array(8), handler));
    expect(outcome).toMatchObject({ reply: null, early: false, calls: 1 });
    expect(outcome.error!.code).toBe('ERR_PHOENIX_NOT_CONNECTED');
  });

  it("fails a client's calls in flight with ERR_PHOENIX_NOT_CONNECTED through onError when it disconnects", async () => {
    const { name } = await start();
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    const pending = outcomeOf((handler) => client.sendInto(SLOW_ECHO, '2000', new Uint8Array(8), handler));
    await client.disconnect();
    const outcome = await pending;
    expect(outcome).toMatchObject({ reply: null, calls: 1 });
    expect(outcome.error!.code).toBe('ERR_PHOENIX_NOT_CONNECTED');
  });

  it('refuses, by a throw, a handler without onReply and onError', async () => {
    const { server } = await start();
    for (const handler of [null, {}, { onReply: () => {} }, () => {}]) {
      expect(() => server.sendInto(ECHO, '', new Uint8Array(8), handler as never)).toThrowError(
        expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }),
      );
    }
  });

  it('gives every call in flight exactly one outcome when the worker is killed mid-way', async () => {
    const { server } = await start();
    const sends = Array.from({ length: 40 }, (_, i) =>
      outcomeOf((handler) =>
        i === 20
          ? server.sendInto(KILLS_SELF, '', new Uint8Array(8), handler, { timeoutMs: 10_000 })
          : server.sendInto(ECHO, `e${i}`, new Uint8Array(8), handler, { timeoutMs: 10_000 }),
      ),
    );
    const outcomes = await Promise.all(sends);
    outcomes.forEach((outcome, i) => {
      expect(outcome.calls).toBe(1);
      if (i === 20) expect(outcome.error!.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
      else expect(text.decode(outcome.reply!.payload)).toBe(`e${i}`);
    });
  }, 30_000);
});
