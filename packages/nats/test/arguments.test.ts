import { createServer, type Socket } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import { IpcServer } from '@phoenix-ipc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCaller, serveOverNats } from '../src/index.js';
import type { NatsServer } from '../src/testing.js';
import { Harness, segmentsWithPrefix } from './harness.js';

const harness = new Harness();
let nats: NatsServer;
let nc: NatsConnection;
let caller: NatsCaller;

/** A stand-in for a started supervisor: argument checks come before any call. */
const running = {
  name: '/stand-in',
  isWorker: false,
  getState: () => 'running',
  registeredFuncIds: () => [1001],
  callAsync: () => Promise.reject(new Error('not called')),
} as unknown as IpcServer;

beforeAll(async () => {
  nats = await harness.nats();
  nc = harness.track(await connect({ servers: nats.url }));
  caller = harness.track(new NatsCaller(nc, 'test'));
});
afterAll(async () => {
  await harness.cleanup();
  expect(segmentsWithPrefix()).toEqual([]);
});

async function rejection(run: () => Promise<unknown>): Promise<PhoenixError> {
  let outcome: unknown;
  try {
    await run();
    outcome = null;
  } catch (error) {
    outcome = error;
  }
  if (outcome === null) throw new Error('expected a rejection');
  expect(PhoenixError.isInstance(outcome)).toBe(true);
  return outcome as PhoenixError;
}

function thrown(run: () => unknown): PhoenixError {
  try {
    run();
  } catch (error) {
    expect(PhoenixError.isInstance(error)).toBe(true);
    return error as PhoenixError;
  }
  throw new Error('expected a throw');
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A loopback server that accepts connections and never says a word (a frozen
 * NATS server); `closed` resolves when the client has closed its socket.
 */
async function silentServer(): Promise<{ url: string; closed: Promise<void>; stop: () => Promise<void> }> {
  const sockets: Socket[] = [];
  let onClosed = () => {};
  const closed = new Promise<void>((resolve) => {
    onClosed = resolve;
  });
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('close', onClosed);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `nats://127.0.0.1:${port}`, closed, stop };
}

const BAD_TOKENS = ['', 'a.b', 'a b', '*', '>', 'img*', 'x'.repeat(129), 42, undefined, null];

describe('serveOverNats refuses bad arguments with ERR_PHOENIX_INVALID_ARGUMENT, naming them', () => {
  it.each(BAD_TOKENS)('service %j', async (service) => {
    const error = await rejection(() => serveOverNats(running, nc, { service: service as string }));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain('service');
  });

  it.each([
    [{ service: 'ok', queue: 'a.b' }, 'queue'],
    [{ service: 'ok', funcIds: [] }, 'funcIds'],
    [{ service: 'ok', funcIds: [500] }, 'funcIds'],
    [{ service: 'ok', funcIds: '1001' }, 'funcIds'],
    [{ service: 'ok', maxInFlight: 0 }, 'maxInFlight'],
    [{ service: 'ok', maxInFlight: 1.5 }, 'maxInFlight'],
    [{ service: 'ok', maxInFlight: 'many' }, 'maxInFlight'],
    [{ service: 'ok', queueGroup: 'q' }, 'queueGroup'],
    [null, 'options'],
    ['ok', 'options'],
  ])('options %j', async (options, mention) => {
    const error = await rejection(() => serveOverNats(running, nc, options as never));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain(mention);
  });

  it.each([0, -1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '1024', null])(
    'option maxInFlightBytes %j: an integer from 1, in bytes',
    async (maxInFlightBytes) => {
      const error = await rejection(() => serveOverNats(running, nc, { service: 'ok', maxInFlightBytes } as never));
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toContain('option maxInFlightBytes must be an integer');
    },
  );

  it('options with bigint values: ERR_PHOENIX_INVALID_ARGUMENT showing them as written', async () => {
    for (const [options, shown] of [
      [{ service: 'ok', maxInFlight: 8n }, 'got 8n'],
      [{ service: 'ok', maxInFlightBytes: 8n }, 'got 8n'],
      [{ service: 1n }, '1n'],
    ] as const) {
      const error = await rejection(() => serveOverNats(running, nc, options as never));
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toContain(shown);
    }
  });

  it.each([null, {}, { servers: '' }, { servers: [] }, { servers: [1] }, 'nats://127.0.0.1:4222'])(
    'connection %j',
    async (connection) => {
      const error = await rejection(() => serveOverNats(running, connection as never, { service: 'ok' }));
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toMatch(/servers|NatsConnection/);
    },
  );

  it('a server that is not an IpcServer', async () => {
    const error = await rejection(() => serveOverNats({} as IpcServer, nc, { service: 'ok' }));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('a server with no handler registered, when funcIds is not given', async () => {
    const bare = { ...running, registeredFuncIds: () => [] } as unknown as IpcServer;
    const error = await rejection(() => serveOverNats(bare, nc, { service: 'ok' }));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain('funcIds');
  });

  it('ERR_PHOENIX_INVALID_STATE for a server not started yet, and in a worker process', async () => {
    const server = await IpcServer.create(harness.name('unstarted'), { normalWorkers: 1, vipWorkers: 0 });
    try {
      server.registerHandler(1001, () => {});
      const error = await rejection(() => serveOverNats(server, nc, { service: 'ok' }));
      expect(error.code).toBe('ERR_PHOENIX_INVALID_STATE');
      expect(error.message).toContain('start()');
    } finally {
      await server.stop({ graceMs: 0 });
    }
    const worker = { ...running, isWorker: true } as unknown as IpcServer;
    expect((await rejection(() => serveOverNats(worker, nc, { service: 'ok' }))).code).toBe(
      'ERR_PHOENIX_INVALID_STATE',
    );
  });

  it('connection failures: ERR_PHOENIX_CONNECT_REFUSED when nobody listens', async () => {
    const port = await closedPort();
    const error = await rejection(() =>
      serveOverNats(running, { servers: `nats://127.0.0.1:${port}` }, { service: 'ok' }),
    );
    expect(error.code).toBe('ERR_PHOENIX_CONNECT_REFUSED');
    expect(error.message).toContain(String(port));
  });

  it('ERR_PHOENIX_CONNECT_TIMEOUT from a server that never answers, and the socket is closed, not left open', async () => {
    const silent = await silentServer();
    try {
      const error = await rejection(() =>
        serveOverNats(running, { servers: silent.url, timeout: 300 }, { service: 'ok' }),
      );
      expect(error.code).toBe('ERR_PHOENIX_CONNECT_TIMEOUT');
      await silent.closed; // an open socket would keep the process alive
    } finally {
      await silent.stop();
    }
  });

  it('ERR_PHOENIX_SERVER_GONE for a closed NatsConnection', async () => {
    const closed = await connect({ servers: nats.url });
    await closed.close();
    expect((await rejection(() => serveOverNats(running, closed, { service: 'ok' }))).code).toBe(
      'ERR_PHOENIX_SERVER_GONE',
    );
  });

  it('ERR_PHOENIX_SERVER_GONE for a draining NatsConnection', async () => {
    const draining = await connect({ servers: nats.url });
    const drained = draining.drain();
    const error = await rejection(() => serveOverNats(running, draining, { service: 'ok' }));
    await drained;
    expect(error.code).toBe('ERR_PHOENIX_SERVER_GONE');
    expect(error.message).toContain('draining');
  });

  it('ERR_PHOENIX_SERVER_GONE when the connection drops while it starts, and nothing of the bridge answers', async () => {
    const yours = harness.track(await connect({ servers: nats.url }));
    // The flush that confirms the subscriptions fails as on a disconnect (nats.js rejects pending pongs then).
    Object.assign(yours, { flush: () => Promise.reject(new Error('disconnected')) });
    expect((await rejection(() => serveOverNats(running, yours, { service: 'abandoned' }))).code).toBe(
      'ERR_PHOENIX_SERVER_GONE',
    );
    Reflect.deleteProperty(yours, 'flush');
    await yours.flush(); // the NATS server has read whatever the connection sent by now
    expect(yours.isClosed()).toBe(false); // yours: it stays open
    const asker = harness.track(new NatsCaller(nc, 'abandoned'));
    expect((await rejection(() => asker.call(1001, 'anyone?', { timeoutMs: 5000 }))).code).toBe(
      'ERR_PHOENIX_UNAVAILABLE',
    );
    await expect(nc.request('$SRV.PING.abandoned', '', { timeout: 5000 })).rejects.toThrow();
  });
});

describe('NatsCaller refuses bad arguments with ERR_PHOENIX_INVALID_ARGUMENT, naming them', () => {
  it.each(BAD_TOKENS)('service %j (constructor and connect, which does not connect first)', async (service) => {
    expect(thrown(() => new NatsCaller(nc, service as string)).code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    const port = await closedPort();
    const error = await rejection(() => NatsCaller.connect({ servers: `nats://127.0.0.1:${port}` }, service as string));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain('service');
  });

  it.each([
    [{ defaultTimeoutMs: -1 }, 'defaultTimeoutMs'],
    [{ defaultTimeoutMs: 'soon' }, 'defaultTimeoutMs'],
    [{ timeout: 5 }, 'timeout'],
    ['fast', 'options'],
  ])('options %j', (options, mention) => {
    const error = thrown(() => new NatsCaller(nc, 'test', options as never));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain(mention);
  });

  it('a connection that is not a NatsConnection', () => {
    expect(thrown(() => new NatsCaller({} as NatsConnection, 'test')).code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(thrown(() => new NatsCaller('nats://x' as never, 'test')).code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('connect: ERR_PHOENIX_CONNECT_REFUSED when nobody listens, bad connection options', async () => {
    const port = await closedPort();
    expect((await rejection(() => NatsCaller.connect({ servers: `nats://127.0.0.1:${port}` }, 'test'))).code).toBe(
      'ERR_PHOENIX_CONNECT_REFUSED',
    );
    expect((await rejection(() => NatsCaller.connect({} as never, 'test'))).code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('connect: ERR_PHOENIX_CONNECT_TIMEOUT from a server that never answers, and its socket closed', async () => {
    const silent = await silentServer();
    try {
      const error = await rejection(() => NatsCaller.connect({ servers: silent.url, timeout: 300 }, 'test'));
      expect(error.code).toBe('ERR_PHOENIX_CONNECT_TIMEOUT');
      await silent.closed;
    } finally {
      await silent.stop();
    }
  });

  it.each([
    ['func id 500 (reserved)', () => caller.call(500, 'x')],
    ['func id 2^32', () => caller.call(2 ** 32, 'x')],
    ['func id "1001"', () => caller.call('1001' as never, 'x')],
    ['priority 7', () => caller.call(1001, 'x', 7 as never)],
    ['timeoutMs -5', () => caller.call(1001, 'x', 0, -5)],
    ['timeoutMs NaN', () => caller.callAsync(1001, 'x', { timeoutMs: Number.NaN })],
    ['payload 42', () => caller.call(1001, 42 as never)],
    ['a signal that is not an AbortSignal', () => caller.call(1001, 'x', { signal: {} as AbortSignal })],
    ['onQueueFull (not over NATS)', () => caller.call(1001, 'x', { onQueueFull: 'reject' })],
    ['options and a fourth argument', () => caller.call(1001, 'x', { priority: 0 }, 100)],
    ['a misspelt option (timeout)', () => caller.callAsync(1001, 'x', { timeout: 50 } as never)],
  ])('call with %s', async (_what, run) => {
    expect((await rejection(run)).code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

async function connectionCount(): Promise<number> {
  return (await nats.monitor<{ num_connections: number }>('/connz')).num_connections;
}

describe('NATS connection options: a bad one is ERR_PHOENIX_INVALID_ARGUMENT at once, before connecting', () => {
  it.each([
    [{ user: 5 }, 'user'],
    [{ pass: 5 }, 'pass'],
    [{ token: {} }, 'token'],
    [{ name: {} }, 'name'],
    [{ timeout: -5 }, 'timeout'],
    [{ timeout: Number.NaN }, 'timeout'],
    [{ timeout: '5000' }, 'timeout'],
    [{ pingInterval: 2 ** 31 }, 'pingInterval'],
    [{ maxPingOut: 1.5 }, 'maxPingOut'],
    [{ maxReconnectAttempts: 'x' }, 'maxReconnectAttempts'],
    [{ maxReconnectAttempts: -2 }, 'maxReconnectAttempts'],
    [{ reconnectTimeWait: -1 }, 'reconnectTimeWait'],
    [{ reconnectJitter: Number.POSITIVE_INFINITY }, 'reconnectJitter'],
    [{ reconnectJitterTLS: '1' }, 'reconnectJitterTLS'],
    [{ reconnectTimeWait: 2 ** 31 - 1, reconnectJitter: 10 }, 'reconnectTimeWait + reconnectJitter'],
    [{ noEcho: 'yes' }, 'noEcho'],
    [{ reconnect: 1 }, 'reconnect'],
    [{ waitOnFirstConnect: 'no' }, 'waitOnFirstConnect'],
    [{ verbose: null }, 'verbose'],
    [{ pedantic: 'x' }, 'pedantic'],
    [{ ignoreClusterUpdates: 1 }, 'ignoreClusterUpdates'],
    [{ noRandomize: 'x' }, 'noRandomize'],
    [{ debug: 0 }, 'debug'],
    [{ authenticator: 'secret' }, 'authenticator'],
    [{ reconnectDelayHandler: 500 }, 'reconnectDelayHandler'],
    [{ tls: 'yes' }, 'tls'],
    [{ inboxPrefix: 'a b' }, 'inboxPrefix'],
    [{ inboxPrefix: 'x.' }, 'inboxPrefix'],
    [{ inboxPrefix: '.x' }, 'inboxPrefix'],
    [{ inboxPrefix: 'a..b' }, 'inboxPrefix'],
    [{ inboxPrefix: 'a.*' }, 'inboxPrefix'],
    [{ inboxPrefix: 'a.b>' }, 'inboxPrefix'],
    [{ inboxPrefix: 'tab\there' }, 'inboxPrefix'],
    [{ inboxPrefix: 5 }, 'inboxPrefix'],
  ])('%j (NatsCaller.connect and serveOverNats)', async (extra, mention) => {
    const options = { servers: nats.url, ...extra } as never;
    const before = await connectionCount();
    for (const run of [
      () => NatsCaller.connect(options, 'test'),
      () => serveOverNats(running, options, { service: 'ok' }),
    ]) {
      // Checked before any I/O, not found out by a failed connect: settled before the event loop's next turn.
      const settled = rejection(run);
      const first = await Promise.race([settled, new Promise((resolve) => setImmediate(() => resolve('pending')))]);
      expect(first).not.toBe('pending');
      const error = await settled;
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toContain(mention);
    }
    expect(await connectionCount()).toBe(before); // no connection was opened, so none is left reconnecting
  });

  it('well-typed options go to nats.js (unknown keys too), and the caller works', async () => {
    const own = harness.track(
      await NatsCaller.connect(
        {
          servers: nats.url,
          name: 'well-typed',
          timeout: 5000,
          pingInterval: 60_000,
          maxPingOut: 3,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 200,
          reconnectJitter: 0,
          noEcho: false,
          verbose: false,
          inboxPrefix: 'accounts.typed',
          tls: null,
          user: undefined,
          somethingNewInNatsJs: 1,
        } as never,
        'nobody',
      ),
    );
    expect((await rejection(() => own.call(1001, 'x'))).code).toBe('ERR_PHOENIX_UNAVAILABLE'); // a round trip
    const connz = await nats.monitor<{ connections: { name?: string; subscriptions_list?: string[] }[] }>(
      '/connz?subs=1',
    );
    const mine = connz.connections.find((connection) => connection.name === 'well-typed');
    expect(mine?.subscriptions_list?.some((subject) => subject.startsWith('accounts.typed.'))).toBe(true);
    await own.close();
  });
});

describe('a NatsConnection whose inboxPrefix no reply subject can use', () => {
  it.each(['a b', 'x.', 'a..b'])(
    'inboxPrefix %j: the constructor throws ERR_PHOENIX_INVALID_ARGUMENT',
    async (prefix) => {
      // nats.js itself accepts these (it refuses only wildcard tokens).
      const bad = harness.track(await connect({ servers: nats.url, inboxPrefix: prefix }));
      const error = thrown(() => new NatsCaller(bad, 'test'));
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toContain('inboxPrefix');
    },
  );
});
