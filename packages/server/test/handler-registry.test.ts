// registerHandler refuses a func id that already has a handler;
// unregisterHandler replaces one on purpose. In this process and in real
// worker processes.
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer, type PhoenixError } from '../src/index.js';
import { FIXTURES, Harness } from './harness.js';

const harness = new Harness();
afterEach(() => harness.cleanup());

function thrown(fn: () => unknown): PhoenixError {
  try {
    fn();
  } catch (error) {
    return error as PhoenixError;
  }
  throw new Error('expected a throw');
}

describe('registerHandler', () => {
  it('refuses a second handler for the same func id with ERR_PHOENIX_INVALID_ARGUMENT naming it', async () => {
    const server = harness.track(await IpcServer.create(harness.name('reg'), { normalWorkers: 1, vipWorkers: 0 }));
    server.registerHandler(1234, () => {});
    const error = thrown(() => server.registerHandler(1234, () => {}));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain('1234');
    expect(error.message).toContain('unregisterHandler');
  });
});

describe('unregisterHandler', () => {
  it('returns true when it removed a handler and false when there was none', async () => {
    const server = harness.track(await IpcServer.create(harness.name('unreg'), { normalWorkers: 1, vipWorkers: 0 }));
    server.registerHandler(1234, () => {});
    expect(server.unregisterHandler(1234)).toBe(true);
    expect(server.unregisterHandler(1234)).toBe(false);
    expect(server.unregisterHandler(4321)).toBe(false);
    server.registerHandler(1234, () => {});
  });

  it('refuses a func id outside the application range', async () => {
    const server = harness.track(await IpcServer.create(harness.name('unreg'), { normalWorkers: 1, vipWorkers: 0 }));
    expect(thrown(() => server.unregisterHandler(7)).code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('lets a worker replace its handler on purpose, after the duplicate was refused', async () => {
    const name = harness.name('replace');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0 }));
    await server.start(`${FIXTURES}replace-handler.mjs`, [name]);
    const reply = await server.call(1001, 'x', { timeoutMs: 10_000 });
    expect(Buffer.from(reply.payload).toString()).toBe('replaced; ERR_PHOENIX_INVALID_ARGUMENT names 1001; true false');
  });
});
