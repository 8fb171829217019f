// The service suite over NATS: a NatsCaller in this process calls a
// supervisor in another process that serves the kitchen over a real
// nats-server (serveOverNats), which hands each call to its workers.
import { NatsCaller } from '@phoenix-ipc/nats';
import { NatsServer } from '@phoenix-ipc/nats/testing';
import { describe } from 'vitest';
import { Harness } from './harness.js';
import { KITCHEN_SERVER_OPTIONS, serviceSuite } from './service-suite.js';

describe('a typed service called over NATS', () => {
  const harness = new Harness();
  serviceSuite(async () => {
    const nats = await NatsServer.start();
    const name = harness.name('nats');
    let caller: NatsCaller | undefined;
    const close = async () => {
      await caller?.close();
      await harness.cleanup();
      await nats.stop();
    };
    try {
      await harness.cluster(name, KITCHEN_SERVER_OPTIONS, { PHX_NATS_URL: nats.url }).ready();
      caller = await NatsCaller.connect({ servers: nats.url }, 'kitchen', { defaultTimeoutMs: 10_000 });
    } catch (error) {
      await close();
      throw error;
    }
    // A NATS reply is a view into the message it arrived in, not a buffer of its own.
    return { caller, segment: name, repliesInOwnBuffer: false, close };
  });
});
