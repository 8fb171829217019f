// The service suite through an IpcClient: this process is a client of a
// supervisor running in another process (fixtures/kitchen-cluster.mjs).
import { IpcClient } from '@phoenix-ipc/client';
import { describe } from 'vitest';
import { Harness } from './harness.js';
import { KITCHEN_SERVER_OPTIONS, serviceSuite } from './service-suite.js';

describe('a typed service called through IpcClient', () => {
  const harness = new Harness();
  serviceSuite(async () => {
    const name = harness.name('client');
    await harness.cluster(name, KITCHEN_SERVER_OPTIONS).ready();
    const client = harness.client(IpcClient.create(name));
    await client.connect(10_000);
    return { caller: client, segment: name, close: () => harness.cleanup() };
  });
});
