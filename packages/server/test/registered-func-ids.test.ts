import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer } from '../src/index.js';
import { Harness } from './harness.js';

const harness = new Harness();
afterEach(() => harness.cleanup());

describe('IpcServer.registeredFuncIds()', () => {
  it('is empty before any handler is registered', async () => {
    const server = harness.track(await IpcServer.create(harness.name('ids'), { normalWorkers: 1, vipWorkers: 0 }));
    expect(server.registeredFuncIds()).toEqual([]);
  });

  it('lists every registered func id in ascending order', async () => {
    const server = harness.track(await IpcServer.create(harness.name('ids'), { normalWorkers: 1, vipWorkers: 0 }));
    for (const funcId of [2000, 1001, 4_294_967_295, 1500]) server.registerHandler(funcId, () => {});
    expect(server.registeredFuncIds()).toEqual([1001, 1500, 2000, 4_294_967_295]);
  });

  it('returns a copy: changing it changes nothing in the server', async () => {
    const server = harness.track(await IpcServer.create(harness.name('ids'), { normalWorkers: 1, vipWorkers: 0 }));
    server.registerHandler(1001, () => {});
    server.registeredFuncIds().push(1002);
    expect(server.registeredFuncIds()).toEqual([1001]);
  });
});
