import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { IpcClient, PhoenixError } from '@phoenix-ipc/client';
import type { IpcServer } from '@phoenix-ipc/server';
import { phoenixFailure, type ScriptProcess, waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_HEADER, FUNC_ID_HEADER, MsgStatus, NatsCaller, serveOverNats, VERSION_HEADER } from '../src/index.js';
import type { NatsServer } from '../src/testing.js';
import { Harness, SERVICE, segmentsWithPrefix } from './harness.js';

const ECHO = 1001;
const SLOW_ECHO = 1003;
const THROWS = 1005;
const KILLS_SELF = 1006;
const SETS_FUNC_ID = 1007;
const SIZED_REPLY = 1008;
const THROWS_PHOENIX = 1009;
const UNREGISTERED = 1998;
const NATS_MAX_PAYLOAD = 32 * 1024;

const failure = phoenixFailure;

/** Own enumerable fields and their types, without the values that differ per call (pid, seqId...). */
function shape(error: PhoenixError): Record<string, string> {
  return Object.fromEntries(Object.entries(error).map(([key, value]) => [key, value === null ? 'null' : typeof value]));
}

// One NATS server (max_payload 32 KiB) and two hosts shared by the tests that do not disturb them:
// "solo" serves service "test" (64 KiB segment payloads); "tiny" serves service "tiny" with
// 4 KiB segment payloads and a func id no worker has a handler for.
const shared = new Harness();
let nats: NatsServer;
let solo: ScriptProcess;
let soloSegment: string;
let caller: NatsCaller;
let tinyCaller: NatsCaller;

beforeAll(async () => {
  nats = await shared.nats({ maxPayload: NATS_MAX_PAYLOAD });
  solo = await shared.host(nats, 'solo', { server: { maxPayloadBytes: 64 * 1024 } });
  soloSegment = [...shared.names][0]!;
  await shared.host(nats, 'tiny', {
    server: { maxPayloadBytes: 4096 },
    bridge: { service: 'tiny', funcIds: [ECHO, UNREGISTERED] },
  });
  caller = shared.track(await NatsCaller.connect({ servers: nats.url }, SERVICE, { defaultTimeoutMs: 10_000 }));
  tinyCaller = shared.track(await NatsCaller.connect({ servers: nats.url }, 'tiny', { defaultTimeoutMs: 10_000 }));
});

const harness = new Harness();
afterEach(() => harness.cleanup());
afterAll(async () => {
  await shared.cleanup();
  expect(segmentsWithPrefix()).toEqual([]);
});

describe('a successful call', () => {
  it('resolves with the reply payload as a Buffer, like IpcClient', async () => {
    const reply = await caller.call(ECHO, 'hello over NATS');
    expect(Buffer.isBuffer(reply.payload)).toBe(true);
    expect(reply.payload.toString()).toBe('hello over NATS');
    expect(reply.payloadLen).toBe(15);
    expect(reply.funcId).toBe(ECHO);
    expect(reply.status).toBe(MsgStatus.Completed);
  });

  it('takes the options object and Priority.High', async () => {
    const reply = await caller.callAsync(ECHO, new Uint8Array([1, 2, 3]), { priority: 1, timeoutMs: 5000 });
    expect([...reply.payload]).toEqual([1, 2, 3]);
    expect((await caller.call(ECHO, 'vip', 1, 5000)).payload.toString()).toBe('vip');
  });

  it('takes a fractional timeout, as IpcClient does (the deadline travels in whole milliseconds)', async () => {
    expect((await caller.call(ECHO, 'a', 0, 1500.5)).payload.toString()).toBe('a');
    expect((await caller.callAsync(ECHO, 'b', { timeoutMs: 250.25 })).payload.toString()).toBe('b');
  });

  it('carries the func id the handler set in the reply', async () => {
    const reply = await caller.call(SETS_FUNC_ID, '');
    expect(reply.funcId).toBe(4242);
    expect([...reply.payload]).toEqual([7]);
  });

  it("replies come to an inbox under the connection's inboxPrefix", async () => {
    const nc = harness.track(
      await connect({ servers: nats.url, inboxPrefix: 'accounts.imaging.inbox', name: 'prefixed' }),
    );
    const own = new NatsCaller(nc, SERVICE);
    expect((await own.call(ECHO, 'prefixed')).payload.toString()).toBe('prefixed');
    const connz = await nats.monitor<{ connections: { name?: string; subscriptions_list?: string[] }[] }>(
      '/connz?subs=1',
    );
    const subscriptions = connz.connections.find((connection) => connection.name === 'prefixed')?.subscriptions_list;
    expect(subscriptions?.some((subject) => subject.startsWith('accounts.imaging.inbox.'))).toBe(true);
    await own.close();
  });

  it('carries an empty payload and payloads up to the NATS max_payload', async () => {
    expect((await caller.call(ECHO)).payloadLen).toBe(0);
    const big = Buffer.alloc(NATS_MAX_PAYLOAD - 1024, 7);
    expect((await caller.call(ECHO, big)).payload.equals(big)).toBe(true);
  });
});

describe('remote errors keep their code, message and typed fields', () => {
  /** The same call's failure over NATS and from a local client of the solo server. */
  async function failedBothWays(funcId: number): Promise<[remote: PhoenixError, local: PhoenixError]> {
    const remote = await failure(caller.call(funcId, ''));
    const local = IpcClient.create(soloSegment);
    await local.connect(10_000);
    try {
      return [remote, await failure(local.call(funcId, ''))];
    } finally {
      await local.disconnect();
    }
  }

  it('ERR_PHOENIX_HANDLER_FAILED: the same fields as a local call', async () => {
    const [remote, here] = await failedBothWays(THROWS);
    expect(remote.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(remote.message).toBe(here.message);
    expect(shape(remote)).toEqual(shape(here));
    expect(remote.remoteName).toBe('RangeError');
    expect(remote.remoteStack).toContain('handler threw on purpose');
    expect(remote.funcId).toBe(THROWS);
  });

  it("a PhoenixError a handler throws: its code, facts and fields of its own, as a local call's", async () => {
    for (const error of await failedBothWays(THROWS_PHOENIX)) {
      expect(error.code).toBe('ERR_PHOENIX_UNAVAILABLE');
      expect(error.message).toBe('the inventory service is down');
      expect(error).toMatchObject({ attempt: 2, retryAfterMs: 250, upstream: { service: 'inventory' } });
    }
  });

  it('ERR_PHOENIX_HANDLER_FAILED arrives whatever the message: a long one is cut to fit max_payload, headers included', async () => {
    const small = await harness.nats({ maxPayload: 4096 });
    await harness.host(small, 'small-payload');
    const smallCaller = harness.track(
      await NatsCaller.connect({ servers: small.url }, SERVICE, { defaultTimeoutMs: 10_000 }),
    );
    // Three bytes a character in UTF-8, four per pair, six once JSON escapes it: each used to overflow.
    for (const message of ['€'.repeat(1000), '😀'.repeat(1000), '\u0001'.repeat(3000)]) {
      const error = await failure(smallCaller.call(THROWS, message));
      expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
      expect(error.message).toContain(message.slice(0, 20));
    }
    expect((await smallCaller.call(ECHO, 'still serving')).payload.toString()).toBe('still serving');
  });

  it('ERR_PHOENIX_WORKER_CRASHED keeps group, workerIndex, pid, signal, reason, exitCode, seqId', async () => {
    const remote = await failure(caller.call(KILLS_SELF, ''));
    const local = IpcClient.create(soloSegment);
    await local.connect(10_000);
    try {
      await solo.waitFor('event', 10_000); // the first crash was handled (the worker is being replaced)
      const here = await failure(local.call(KILLS_SELF, ''));
      expect(remote.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
      expect(shape(remote)).toEqual(shape(here));
      expect(remote).toMatchObject({
        group: 'normal',
        workerIndex: 0,
        signal: 'SIGKILL',
        reason: 'exit',
        exitCode: null,
      });
      expect(typeof remote.pid).toBe('number');
      expect(typeof remote.seqId).toBe('number');
      expect(remote.message).toMatch(/SIGKILL/);
    } finally {
      await local.disconnect();
    }
  });

  it('ERR_PHOENIX_NO_HANDLER from the bridge (a func id it does not serve), with the func id', async () => {
    const error = await failure(caller.call(UNREGISTERED, ''));
    expect(error.code).toBe('ERR_PHOENIX_NO_HANDLER');
    expect(error.funcId).toBe(UNREGISTERED);
    expect(error.message).toContain(String(UNREGISTERED));
  });

  it('ERR_PHOENIX_NO_HANDLER from the workers (served by the bridge, registered nowhere)', async () => {
    const error = await failure(tinyCaller.call(UNREGISTERED, ''));
    expect(error.code).toBe('ERR_PHOENIX_NO_HANDLER');
    expect(error.message).toBe(`no handler is registered for func id ${UNREGISTERED}`);
  });

  it("ERR_PHOENIX_PAYLOAD_TOO_LARGE from the server (above its segment's maxPayloadBytes)", async () => {
    const error = await failure(tinyCaller.call(ECHO, Buffer.alloc(8192)));
    expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
  });

  it("ERR_PHOENIX_PAYLOAD_TOO_LARGE from the bridge (a reply above the NATS server's max_payload)", async () => {
    const error = await failure(caller.call(SIZED_REPLY, String(48 * 1024)));
    expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('max_payload');
    expect((await caller.call(ECHO, 'still serving')).payload.toString()).toBe('still serving');
  });

  it('ERR_PHOENIX_TIMEOUT when the reply does not come before the deadline', async () => {
    const error = await failure(caller.call(SLOW_ECHO, '3000', { timeoutMs: 200 }));
    expect(error.code).toBe('ERR_PHOENIX_TIMEOUT');
    expect(error.funcId).toBe(SLOW_ECHO);
  });
});

describe("the caller's own errors", () => {
  it('ERR_PHOENIX_PAYLOAD_TOO_LARGE before sending a request above max_payload', async () => {
    const before = (await solo.ask('stats', 'stats')).stats as { received: number };
    const error = await failure(caller.call(ECHO, Buffer.alloc(NATS_MAX_PAYLOAD + 1)));
    expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect(error.message).toContain(String(NATS_MAX_PAYLOAD));
    await caller.call(ECHO, 'x'); // sent after the refused one: when it is answered, the refused one would have arrived
    const after = (await solo.ask('stats', 'stats')).stats as { received: number };
    expect(after.received).toBe(before.received + 1);
  });

  it('ERR_PHOENIX_UNAVAILABLE at once when nobody serves the service (no responders)', async () => {
    const nobody = harness.track(
      await NatsCaller.connect({ servers: nats.url }, 'nobody', { defaultTimeoutMs: 60_000 }),
    );
    const error = await failure(nobody.call(ECHO, 'anyone?'));
    expect(error.code).toBe('ERR_PHOENIX_UNAVAILABLE');
    expect(error.message).toContain('phoenix.nobody.1001');
  });

  it('ERR_PHOENIX_ABORTED through the AbortSignal, before and during the call', async () => {
    const controller = new AbortController();
    const pending = caller.callAsync(SLOW_ECHO, '2000', { signal: controller.signal });
    controller.abort();
    expect((await failure(pending)).code).toBe('ERR_PHOENIX_ABORTED');
    expect((await failure(caller.call(ECHO, 'x', { signal: controller.signal }))).code).toBe('ERR_PHOENIX_ABORTED');
  });

  it('ERR_PHOENIX_SERVER_GONE when its connection closes: for calls in flight and for later calls', async () => {
    const nc = harness.track(await connect({ servers: nats.url }));
    const own = new NatsCaller(nc, SERVICE, { defaultTimeoutMs: 10_000 });
    const inFlight = own.call(SLOW_ECHO, '2000');
    await nc.close();
    const error = await failure(inFlight);
    expect(error.code).toBe('ERR_PHOENIX_SERVER_GONE');
    expect(error.funcId).toBe(SLOW_ECHO);
    expect((await failure(own.call(ECHO, 'x'))).code).toBe('ERR_PHOENIX_SERVER_GONE');
  });

  it('ERR_PHOENIX_SERVER_GONE after close(), for calls in flight and later ones; a connection it did not open stays open', async () => {
    const nc = harness.track(await connect({ servers: nats.url }));
    const own = new NatsCaller(nc, SERVICE);
    expect((await own.call(ECHO, 'x')).payload.toString()).toBe('x');
    const inFlight = own.call(SLOW_ECHO, '1000');
    await own.close();
    expect((await failure(inFlight)).code).toBe('ERR_PHOENIX_SERVER_GONE');
    expect(nc.isClosed()).toBe(false);
    expect((await failure(own.call(ECHO, 'x'))).code).toBe('ERR_PHOENIX_SERVER_GONE');
  });
});

describe('the server behind the bridge', () => {
  it('ERR_PHOENIX_SERVER_GONE for a call in flight when the server stops, then ERR_PHOENIX_UNAVAILABLE', async () => {
    const natsOwn = await harness.nats();
    const host = await harness.host(natsOwn, 'stopping');
    const own = harness.track(
      await NatsCaller.connect({ servers: natsOwn.url }, SERVICE, { defaultTimeoutMs: 10_000 }),
    );
    const inFlight = own.call(SLOW_ECHO, '3000');
    await host.waitFor('ready');
    await waitForInFlight(host, 1);
    host.send('stop-server 0');
    expect((await failure(inFlight)).code).toBe('ERR_PHOENIX_SERVER_GONE');
    await host.waitFor('serverStopped');
    const later = await failure(own.call(ECHO, 'x'));
    expect(later.code).toBe('ERR_PHOENIX_UNAVAILABLE');
  });

  it('ERR_PHOENIX_QUEUE_FULL at once from a bridge at maxInFlight', async () => {
    const natsOwn = await harness.nats();
    const host = await harness.host(natsOwn, 'narrow', { bridge: { maxInFlight: 2 } });
    const own = harness.track(
      await NatsCaller.connect({ servers: natsOwn.url }, SERVICE, { defaultTimeoutMs: 10_000 }),
    );
    const slow = [own.call(SLOW_ECHO, '1500'), own.call(SLOW_ECHO, '1500')];
    await waitForInFlight(host, 2);
    let slowDone = false;
    void Promise.all(slow).then(() => (slowDone = true));
    const error = await failure(own.call(ECHO, 'one too many'));
    expect(error.code).toBe('ERR_PHOENIX_QUEUE_FULL');
    expect(slowDone).toBe(false); // answered while the two slow calls still ran
    expect((await Promise.all(slow)).map((reply) => reply.payload.toString())).toEqual(['1500', '1500']);
  });

  it('relays every own enumerable field of a PhoenixError, Uint8Array fields as Buffers', async () => {
    const nc = harness.track(await connect({ servers: nats.url }));
    const data = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const fake = {
      name: '/fake',
      isWorker: false,
      getState: () => 'running',
      registeredFuncIds: () => [ECHO],
      callAsync: () =>
        Promise.reject(
          new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', 'typed failure', {
            funcId: ECHO,
            seqId: 77,
            remoteName: 'ValidationError',
            remoteData: data,
            futureFact: { nested: [1, 'two', null], flag: true },
          } as never),
        ),
    } as unknown as IpcServer;
    harness.track(await serveOverNats(fake, nc, { service: 'fake' }));
    const own = harness.track(await NatsCaller.connect({ servers: nats.url }, 'fake'));
    const error = await failure(own.call(ECHO, 'x'));
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toBe('typed failure');
    const fields = error as unknown as Record<string, unknown>;
    expect(fields.remoteName).toBe('ValidationError');
    expect(fields.seqId).toBe(77);
    expect(fields.futureFact).toEqual({ nested: [1, 'two', null], flag: true });
    expect(Buffer.isBuffer(fields.remoteData)).toBe(true);
    expect([...(fields.remoteData as Buffer)]).toEqual([...data]);
  });
});

describe('a reply from another NATS client on the service subjects (not a bridge) is not trusted', () => {
  /** A NATS client answering every request on phoenix.rogue.* with `answer(request payload)`. */
  async function rogue(
    answer: (payload: string) => { headers: Record<string, string>; body: string },
  ): Promise<NatsCaller> {
    const nc: NatsConnection = harness.track(await connect({ servers: nats.url }));
    nc.subscribe('phoenix.rogue.*', {
      callback: (_error, msg) => {
        const reply = answer(msg.string());
        const hdrs = headers();
        for (const [key, value] of Object.entries(reply.headers)) hdrs.set(key, value);
        msg.respond(reply.body, { headers: hdrs });
      },
    });
    await nc.flush();
    return harness.track(await NatsCaller.connect({ servers: nats.url }, 'rogue', { defaultTimeoutMs: 10_000 }));
  }

  it('a failure reply: no field shadows a prototype member, declared facts keep their types', async () => {
    const own = await rogue(() => ({
      headers: { [VERSION_HEADER]: '1', [ERROR_HEADER]: 'ERR_PHOENIX_HANDLER_FAILED' },
      body: JSON.stringify({
        code: 'ERR_PHOENIX_HANDLER_FAILED',
        message: 'm',
        fields: { toString: 5, valueOf: 5, hasOwnProperty: 5, seqId: 'str', funcId: { a: 1 }, pid: 'x', extra: 1 },
      }),
    }));
    const error = await failure(own.call(ECHO, 'x'));
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(String(error)).toBe('PhoenixError: m');
    expect(Object.hasOwn(error, 'toString')).toBe(false);
    expect(error.seqId).toBeUndefined();
    expect(error.funcId).toBe(ECHO); // the call's, not the foreign one
    expect(error.pid).toBeUndefined();
    expect((error as unknown as Record<string, unknown>).extra).toBe(1); // a fact we do not know is relayed
  });

  it.each(['abc', '-5', '', '1.5', '1e3', '01001', '4294967296', '99999999999'])(
    'a success reply with %j in Phoenix-Func-Id: ERR_PHOENIX_HANDLER_FAILED (a garbled reply)',
    async (value) => {
      const own = await rogue(() => ({ headers: { [FUNC_ID_HEADER]: value }, body: 'payload' }));
      const error = await failure(own.call(ECHO, 'x'));
      expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
      expect(error.message).toContain(FUNC_ID_HEADER);
      expect(error.funcId).toBe(ECHO);
    },
  );

  it.each([
    ['0', 0],
    ['4242', 4242],
    ['4294967295', 4294967295],
  ])('a success reply with %j in Phoenix-Func-Id carries func id %d', async (value, funcId) => {
    const own = await rogue(() => ({ headers: { [FUNC_ID_HEADER]: value }, body: 'payload' }));
    const reply = await own.call(ECHO, 'x');
    expect(reply.funcId).toBe(funcId);
    expect(reply.payload.toString()).toBe('payload');
  });
});

async function waitForInFlight(host: ScriptProcess, count: number): Promise<void> {
  const inFlight = async () => ((await host.ask('stats', 'stats')) as { stats: { inFlight: number } }).stats.inFlight;
  await waitUntil(async () => (await inFlight()) >= count, 10_000, `the bridge to have ${count} calls in flight`);
}
