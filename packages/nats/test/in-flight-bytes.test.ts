import { connect } from '@nats-io/transport-node';
import type { Reply } from '@phoenix-ipc/client';
import type { IpcServer } from '@phoenix-ipc/server';
import { phoenixFailure, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { MsgStatus, type NatsBridge, NatsCaller, serveOverNats } from '../src/index.js';
import { Harness } from './harness.js';

const ECHO = 1001;

const harness = new Harness();
afterEach(() => harness.cleanup());

/**
 * A stand-in for a started supervisor whose calls run until the test lets
 * them go: `release()` answers every call taken so far with its payload.
 */
function slowServer(): { server: IpcServer; release: () => void } {
  const waiting: (() => void)[] = [];
  const server = {
    name: '/slow',
    isWorker: false,
    getState: () => 'running',
    registeredFuncIds: () => [ECHO],
    callAsync: (funcId: number, payload: Uint8Array) =>
      new Promise<Reply>((resolve) => {
        const copy = Buffer.from(payload); // the bridge's message is a view of the socket's read buffer
        waiting.push(() =>
          resolve({ seqId: 0, funcId, status: MsgStatus.Completed, payloadLen: copy.length, payload: copy }),
        );
      }),
  } as unknown as IpcServer;
  const release = () => {
    for (const answer of waiting.splice(0)) answer();
  };
  return { server, release };
}

const failure = phoenixFailure;

async function bridgeAndCaller(
  options: { maxInFlight?: number; maxInFlightBytes?: number },
  service: string,
): Promise<{ bridge: NatsBridge; caller: NatsCaller; release: () => void }> {
  const nats = await harness.nats();
  const { server, release } = slowServer();
  const nc = harness.track(await connect({ servers: nats.url }));
  const bridge = harness.track(await serveOverNats(server, nc, { service, ...options }));
  const caller = harness.track(await NatsCaller.connect({ servers: nats.url }, service, { defaultTimeoutMs: 10_000 }));
  return { bridge, caller, release };
}

describe('a bridge bounds the bytes of the requests in flight (maxInFlightBytes)', () => {
  it('refuses a request that would pass it as one past maxInFlight: ERR_PHOENIX_QUEUE_FULL at once, not run', async () => {
    const { bridge, caller, release } = await bridgeAndCaller({ maxInFlightBytes: 100_000 }, 'bytes');
    const first = caller.call(ECHO, Buffer.alloc(60_000, 1));
    await waitUntil(() => bridge.stats().inFlight === 1, 10_000, 'the first request to be in flight');

    const refused = await failure(caller.call(ECHO, Buffer.alloc(60_000, 2)));
    expect(refused.code).toBe('ERR_PHOENIX_QUEUE_FULL');
    expect(refused.message).toContain('maxInFlightBytes');
    // A request that fits beside the first one is still taken.
    const small = caller.call(ECHO, Buffer.alloc(1000, 3));
    await waitUntil(() => bridge.stats().inFlight === 2, 10_000, 'the small request to be in flight');
    release();
    expect((await first).payload).toEqual(Buffer.alloc(60_000, 1));
    expect((await small).payload).toEqual(Buffer.alloc(1000, 3));
    expect(bridge.stats()).toEqual({ received: 3, replied: 2, failed: 1, inFlight: 0 });

    // The same refusal as a bridge at maxInFlight: same code, same fields.
    const counted = await bridgeAndCaller({ maxInFlight: 1 }, 'count');
    const held = counted.caller.call(ECHO, 'x');
    await waitUntil(() => counted.bridge.stats().inFlight === 1, 10_000, 'a request to be in flight');
    const full = await failure(counted.caller.call(ECHO, 'y'));
    counted.release();
    await held;
    expect(full.code).toBe(refused.code);
    expect(Object.keys(full).sort()).toEqual(Object.keys(refused).sort());
    expect(full.funcId).toBe(refused.funcId);
  });

  it('serves a request larger than the whole bound when nothing else is in flight', async () => {
    const { bridge, caller, release } = await bridgeAndCaller({ maxInFlightBytes: 1000 }, 'alone');
    const large = caller.call(ECHO, Buffer.alloc(50_000, 7));
    await waitUntil(() => bridge.stats().inFlight === 1, 10_000, 'the large request to be in flight');
    expect(bridge.maxInFlightBytes).toBe(1000);
    release();
    expect((await large).payload).toEqual(Buffer.alloc(50_000, 7));
  });

  it('is 64 MiB unless set, beside maxInFlight (1024)', async () => {
    const nats = await harness.nats();
    const nc = harness.track(await connect({ servers: nats.url }));
    const bridge = harness.track(await serveOverNats(slowServer().server, nc, { service: 'defaults' }));
    expect(bridge.maxInFlightBytes).toBe(64 * 1024 * 1024);
    expect(bridge.maxInFlight).toBe(1024);
  });
});
