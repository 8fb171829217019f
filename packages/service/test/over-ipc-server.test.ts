// The service suite through the supervisor's own calls: this process is the
// supervisor (IpcServer) of workers running fixtures/kitchen-cluster.mjs.
import { IpcServer } from '@phoenix-ipc/server';
import { describe } from 'vitest';
import { Harness, KITCHEN_CLUSTER } from './harness.js';
import { KITCHEN_SERVER_OPTIONS, serviceSuite } from './service-suite.js';

describe('a typed service called by the supervisor (IpcServer)', () => {
  const harness = new Harness();
  serviceSuite(async () => {
    const name = harness.name('server');
    const server = harness.server(await IpcServer.create(name, KITCHEN_SERVER_OPTIONS));
    await server.start(KITCHEN_CLUSTER, [name]);
    return { caller: server, segment: name, close: () => harness.cleanup() };
  });
});
