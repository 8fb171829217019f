import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { NatsCaller } from '../src/index.js';
import { Harness } from './harness.js';

// A full collection on demand, without starting the test process with --expose-gc: the flag is read when a
// context is created, so a fresh one carries gc().
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const ECHO = 1001;
const CALLERS = 200;

const harness = new Harness();
afterEach(() => harness.cleanup());

/**
 * Makes `count` callers on `nc`, each makes one call (nobody serves the
 * service: it fails at once) and is closed; `collected` hears of each one
 * the garbage collector reclaims. In a function of its own, so that no local
 * variable of the test keeps the last one alive.
 */
async function makeAndClose(nc: NatsConnection, count: number, collected: FinalizationRegistry<number>): Promise<void> {
  for (let index = 0; index < count; index++) {
    const caller = new NatsCaller(nc, 'nobody');
    const error = await caller.call(ECHO, 'anyone?').catch((failure: unknown) => failure);
    expect(PhoenixError.isInstance(error) && error.code).toBe('ERR_PHOENIX_UNAVAILABLE');
    await caller.close();
    collected.register(caller, index);
  }
}

describe('a NatsCaller on a connection the application owns', () => {
  it('is garbage once closed and dropped, while the connection stays open', async () => {
    const nats = await harness.nats();
    const nc = harness.track(await connect({ servers: nats.url }));
    let reclaimed = 0;
    const collected = new FinalizationRegistry<number>(() => reclaimed++);
    await makeAndClose(nc, CALLERS, collected);
    await nc.flush();

    // Finalization callbacks run in tasks of their own after a collection: collect, and look again a little later.
    await waitUntil(
      () => {
        collectGarbage();
        return reclaimed === CALLERS;
      },
      20_000,
      `all ${CALLERS} closed callers to be collected`,
    );
    expect(nc.isClosed()).toBe(false);
  });

  it('still fails its calls ERR_PHOENIX_SERVER_GONE when the connection closes, beside closed callers', async () => {
    const nats = await harness.nats();
    const nc = harness.track(await connect({ servers: nats.url }));
    nc.subscribe('phoenix.silent.*'); // receives the requests and never answers: calls stay in flight
    const closed = new NatsCaller(nc, 'silent');
    await closed.close();
    const open = new NatsCaller(nc, 'silent');
    const waiting = open.call(ECHO, 'x', { timeoutMs: Infinity }).catch((failure: unknown) => failure);
    await nc.flush(); // the request reached the NATS server
    await nc.close();
    const error = await waiting;
    expect(PhoenixError.isInstance(error) && error.code).toBe('ERR_PHOENIX_SERVER_GONE');
    await open.close();
  });
});
