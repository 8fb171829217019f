import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NatsCaller } from '../src/index.js';
import type { NatsServer } from '../src/testing.js';
import { Harness, journal, SERVICE, SUBJECT, segmentsWithPrefix } from './harness.js';

const WHO = 1002;
const JOURNAL = 1004;
const text = new TextDecoder();

/** Resolves at the connection's next status event of `type` (listening starts now, before the event). */
function nextStatus(nc: NatsConnection, type: string): Promise<void> {
  const events = nc.status();
  return (async () => {
    for await (const event of events) if (event.type === type) return;
    throw new Error(`the connection closed before a '${type}' status`);
  })();
}

/** The messages `nats` has received from its clients (requests: the test's clients publish nothing else). */
async function requestsReceived(nats: NatsServer): Promise<number> {
  return (await nats.monitor<{ in_msgs: number }>('/varz')).in_msgs;
}

/** What a call ended with: the reply's text, or the error's code. */
function outcome(call: Promise<{ payload: Buffer }>): Promise<string> {
  return call.then(
    (reply) => text.decode(reply.payload),
    (error: unknown) => (PhoenixError.isInstance(error) ? error.code : String(error)),
  );
}

const harness = new Harness();
afterEach(() => harness.cleanup());
afterAll(() => {
  expect(segmentsWithPrefix()).toEqual([]);
});

describe('a NATS server restart', () => {
  it('the bridge and the caller reconnect and serve again', async () => {
    const nats = await harness.nats();
    const host = await harness.host(nats, 'phoenix');
    const caller = harness.track(await NatsCaller.connect({ servers: nats.url }, SERVICE, { defaultTimeoutMs: 5000 }));
    expect(text.decode((await caller.call(WHO, '')).payload)).toBe('phoenix');
    const port = nats.port;

    await nats.restart();
    expect(nats.port).toBe(port);
    // Both sides reconnect on their own; the bridge's subscription comes back with it.
    await waitUntil(async () => (await nats.subscribers(SUBJECT)) === 1, 30_000, 'the bridge to resubscribe');
    const outage: string[] = [];
    await waitUntil(
      async () => {
        try {
          return text.decode((await caller.call(WHO, '', { timeoutMs: 1000 })).payload) === 'phoenix';
        } catch (error) {
          outage.push((error as PhoenixError).code);
          return false;
        }
      },
      30_000,
      'a call to succeed after the restart',
    );
    // While the caller was still reconnecting a call could only time out or find nobody.
    for (const code of outage) expect(['ERR_PHOENIX_TIMEOUT', 'ERR_PHOENIX_UNAVAILABLE']).toContain(code);
    const replies = await Promise.all(Array.from({ length: 50 }, () => caller.call(WHO, '')));
    expect(replies.map((reply) => text.decode(reply.payload))).toEqual(Array(50).fill('phoenix'));
    const { stats } = (await host.ask('stats', 'stats')) as { stats: { replied: number } };
    expect(stats.replied).toBeGreaterThanOrEqual(52);
  });
});

describe('calls made while the connection is down', () => {
  it('wait in the caller and are sent once it is back: none is lost, each runs once', async () => {
    const nats = await harness.nats();
    const host = await harness.host(nats, 'phoenix');
    const dir = harness.directory();
    // The caller reaches the NATS server through a gate, so that it comes back only after the bridge has.
    const gate = await harness.gate(nats.port);
    const nc = harness.track(await connect({ servers: gate.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 }));
    const caller = harness.track(new NatsCaller(nc, SERVICE, { defaultTimeoutMs: 10_000 }));
    expect(text.decode((await caller.call(WHO, '')).payload)).toBe('phoenix');

    const down = nextStatus(nc, 'disconnect');
    const port = nats.port;
    await nats.stop();
    await down; // the caller knows: its calls can no longer be sent
    const calls = [
      caller.callAsync(JOURNAL, `${dir}\tno-timeout\t0`, { timeoutMs: Infinity }),
      caller.call(JOURNAL, `${dir}\tdefault-timeout\t0`),
      caller.call(JOURNAL, `${dir}\tfour-arguments\t0`, 0, 10_000),
      caller.callAsync(JOURNAL, `${dir}\tvip\t0`, { priority: 1, timeoutMs: 10_000 }),
    ].map(outcome);
    const queued = caller.queuedCalls;

    gate.cut();
    const back = await harness.nats({ port });
    await waitUntil(async () => (await back.subscribers(SUBJECT)) === 1, 30_000, 'the bridge to resubscribe');
    gate.open();
    // The calls with a timeout first: lost, they would say so (ERR_PHOENIX_TIMEOUT) where the other would hang.
    const [noTimeout, ...timed] = calls;
    expect(await Promise.all(timed)).toEqual(['phoenix default-timeout', 'phoenix four-arguments', 'phoenix vip']);
    expect(await noTimeout).toBe('phoenix no-timeout');
    expect(queued).toBe(4);
    expect(caller.pendingCalls).toBe(0);
    // Each ran exactly once (in any order: the VIP call has its own worker).
    expect(journal(dir, 'phoenix').sort()).toEqual(['default-timeout', 'four-arguments', 'no-timeout', 'vip']);
    expect(host.exit).toBeNull();
  });

  it('wait through a NATS server restart for the bridge to re-subscribe: each is sent again while nobody serves it, and runs once', async () => {
    const nats = await harness.nats();
    // The bridge reaches the NATS server through a gate, so that it comes back only after the caller has.
    const gate = await harness.gate(nats.port);
    const host = await harness.host(nats, 'phoenix', { bridgeUrl: gate.url });
    const dir = harness.directory();
    const nc = harness.track(await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 }));
    const caller = harness.track(new NatsCaller(nc, SERVICE, { defaultTimeoutMs: 20_000 }));
    expect(text.decode((await caller.call(WHO, '')).payload)).toBe('phoenix');

    const down = nextStatus(nc, 'disconnect');
    const port = nats.port;
    await nats.stop();
    await down;
    const ids = Array.from({ length: 10 }, (_, index) => `queued-${index}`);
    const calls = ids.map((id) => outcome(caller.call(JOURNAL, `${dir}\t${id}\t0`)));
    expect(caller.queuedCalls).toBe(10);

    gate.cut();
    const back = nextStatus(nc, 'reconnect');
    const restarted = await harness.nats({ port });
    await back;
    await waitUntil(() => caller.queuedCalls === 0, 10_000, 'the queued calls to be sent');
    // The caller has had its answers: NATS answers "no responders" before the PONG of this flush.
    await nc.flush();
    expect(await restarted.subscribers(SUBJECT)).toBe(0);
    expect(caller.pendingCalls).toBe(10);

    gate.open();
    expect(await Promise.all(calls)).toEqual(ids.map((id) => `phoenix ${id}`));
    expect(journal(dir, 'phoenix').sort()).toEqual([...ids].sort());
    expect(host.exit).toBeNull();
  });

  it('fail ERR_PHOENIX_UNAVAILABLE once the grace window after the reconnect is over, when nobody serves them', async () => {
    const nats = await harness.nats();
    const nc = harness.track(await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 }));
    const caller = harness.track(new NatsCaller(nc, 'nobody', { defaultTimeoutMs: 60_000 }));
    const down = nextStatus(nc, 'disconnect');
    const port = nats.port;
    await nats.stop();
    await down;
    const queued = caller.call(WHO, '').catch((failure: PhoenixError) => failure);
    const back = nextStatus(nc, 'reconnect');
    const restarted = await harness.nats({ port });
    await back;
    const error = await queued;
    expect(PhoenixError.isInstance(error) && error.code).toBe('ERR_PHOENIX_UNAVAILABLE');
    expect((error as PhoenixError).message).toContain('no responders');
    // It was sent again while nobody served it, not given up at the first "no responders".
    const sends = await requestsReceived(restarted);
    expect(sends).toBeGreaterThan(1);
    // A call made while connected finds nobody at once: it is sent once.
    expect(await outcome(caller.call(WHO, '', 0, 60_000))).toBe('ERR_PHOENIX_UNAVAILABLE');
    expect(await requestsReceived(restarted)).toBe(sends + 1);
  });

  it('end with their own timeout (or abort) while it stays down, saying they were not sent; the wait is bounded', async () => {
    const nats = await harness.nats();
    const gate = await harness.gate(nats.port);
    const nc = harness.track(await connect({ servers: gate.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 }));
    const caller = harness.track(new NatsCaller(nc, SERVICE));
    const down = nextStatus(nc, 'disconnect');
    gate.cut();
    await down;
    const error = await caller.call(WHO, '', 0, 300).catch((failure: PhoenixError) => failure);
    expect(PhoenixError.isInstance(error)).toBe(true);
    expect((error as PhoenixError).code).toBe('ERR_PHOENIX_TIMEOUT');
    expect((error as PhoenixError).message).toContain('not sent');
    expect(caller.queuedCalls).toBe(0);

    // An abort takes a waiting call out of the queue; it never runs.
    const controller = new AbortController();
    const aborted = caller.callAsync(WHO, '', { signal: controller.signal, timeoutMs: Infinity });
    expect(caller.queuedCalls).toBe(1);
    controller.abort();
    const abortError = await aborted.catch((failure: PhoenixError) => failure);
    expect((abortError as PhoenixError).code).toBe('ERR_PHOENIX_ABORTED');
    expect((abortError as PhoenixError).message).toContain('before it was sent');
    expect(caller.queuedCalls).toBe(0);

    // The queue is bounded: beyond 8192 waiting calls, ERR_PHOENIX_UNAVAILABLE at once.
    const waiting = Array.from({ length: 8192 }, () => outcome(caller.call(WHO, '', 0, 2000)));
    expect(caller.queuedCalls).toBe(8192);
    expect(await outcome(caller.call(WHO, ''))).toBe('ERR_PHOENIX_UNAVAILABLE');
    expect(new Set(await Promise.all(waiting))).toEqual(new Set(['ERR_PHOENIX_TIMEOUT']));
  });

  it('reject ERR_PHOENIX_UNAVAILABLE (never sent) when the connection closes for good, even without a timeout', async () => {
    const nats = await harness.nats();
    const gate = await harness.gate(nats.port);
    const nc = harness.track(await connect({ servers: gate.url, maxReconnectAttempts: 2, reconnectTimeWait: 50 }));
    const caller = harness.track(new NatsCaller(nc, SERVICE, { defaultTimeoutMs: 60_000 }));
    const down = nextStatus(nc, 'disconnect');
    gate.cut();
    await down;
    const calls = [caller.callAsync(WHO, '', { timeoutMs: Infinity }), caller.call(WHO, '')].map(outcome);
    await nc.closed(); // it gave up reconnecting
    expect(await Promise.all(calls)).toEqual(['ERR_PHOENIX_UNAVAILABLE', 'ERR_PHOENIX_UNAVAILABLE']);
    expect(await outcome(caller.call(WHO, ''))).toBe('ERR_PHOENIX_SERVER_GONE');
  });

  it('reject ERR_PHOENIX_UNAVAILABLE (never sent) at close(), and the connection stays usable', async () => {
    const nats = await harness.nats();
    const gate = await harness.gate(nats.port);
    const nc = harness.track(await connect({ servers: gate.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 }));
    const caller = new NatsCaller(nc, SERVICE, { defaultTimeoutMs: 60_000 });
    const down = nextStatus(nc, 'disconnect');
    gate.cut();
    await down;
    const waiting = outcome(caller.callAsync(WHO, '', { timeoutMs: Infinity }));
    await caller.close();
    expect(await waiting).toBe('ERR_PHOENIX_UNAVAILABLE');
    const back = nextStatus(nc, 'reconnect');
    gate.open();
    await back;
    expect(nc.isClosed()).toBe(false);
  });
});

describe("replies of calls that finish while the bridge's connection is down", () => {
  it('are held by the bridge and reach their callers once it is back', async () => {
    const nats = await harness.nats();
    // The bridge reaches the NATS server through a gate; the caller does not.
    const gate = await harness.gate(nats.port);
    const host = await harness.host(nats, 'held', { bridgeUrl: gate.url });
    const caller = harness.track(await NatsCaller.connect({ servers: nats.url }, SERVICE));
    const dir = harness.directory();
    const call = outcome(caller.call(JOURNAL, `${dir}\tslow\t1000`, { timeoutMs: 30_000 }));
    await waitUntil(() => journal(dir, 'held').includes('slow'), 10_000, 'the handler to start');
    gate.cut();
    // The handler ends while the bridge is cut off: its reply can only wait, and counts as in flight.
    await waitUntil(async () => (await host.ask('stats', 'stats')).processed === 1, 10_000, 'the call to finish');
    expect((await host.ask('stats', 'stats')).stats).toEqual({ received: 1, replied: 0, failed: 0, inFlight: 1 });
    gate.open();
    expect(await call).toBe('held slow');
    expect(journal(dir, 'held')).toEqual(['slow']);
    expect((await host.ask('stats', 'stats')).stats).toEqual({ received: 1, replied: 1, failed: 0, inFlight: 0 });
  });

  it('count as failed, not replied, when the connection closes for good before it is back', async () => {
    const nats = await harness.nats();
    const gate = await harness.gate(nats.port);
    const host = await harness.host(nats, 'lost', { bridgeUrl: gate.url, bridgeReconnects: 1 });
    const caller = harness.track(await NatsCaller.connect({ servers: nats.url }, SERVICE));
    const dir = harness.directory();
    const call = outcome(caller.call(JOURNAL, `${dir}\tslow\t1000`, { timeoutMs: 5000 }));
    await waitUntil(() => journal(dir, 'lost').includes('slow'), 10_000, 'the handler to start');
    gate.cut();
    await waitUntil(
      async () => ((await host.ask('stats', 'stats')).stats as { failed: number }).failed === 1,
      20_000,
      'the held reply to be given up with the connection',
    );
    expect((await host.ask('stats', 'stats')).stats).toEqual({ received: 1, replied: 0, failed: 1, inFlight: 0 });
    expect(await call).toBe('ERR_PHOENIX_TIMEOUT');
  });
});
