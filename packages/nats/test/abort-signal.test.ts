import { getEventListeners } from 'node:events';
import { connect } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import { afterEach, describe, expect, it } from 'vitest';
import { NatsCaller } from '../src/index.js';
import { Harness } from './harness.js';

const ECHO = 1001;
const CALLS = 50;

const harness = new Harness();
afterEach(() => harness.cleanup());

/** What a call ended with: the reply's text, or the error's code. */
function outcome(call: Promise<{ payload: Buffer }>): Promise<string> {
  return call.then(
    (reply) => reply.payload.toString(),
    (error: unknown) => (PhoenixError.isInstance(error) ? error.code : String(error)),
  );
}

/** Collects the process warnings emitted while `body` runs. */
async function warningsDuring(body: () => Promise<void>): Promise<string[]> {
  const names: string[] = [];
  const onWarning = (warning: Error) => names.push(warning.name);
  process.on('warning', onWarning);
  try {
    await body();
  } finally {
    process.off('warning', onWarning);
  }
  return names;
}

describe('calls that share one AbortSignal', () => {
  it('add one abort listener between them, all reject ERR_PHOENIX_ABORTED on abort, and leave none behind', async () => {
    const nats = await harness.nats();
    const nc = harness.track(await connect({ servers: nats.url }));
    nc.subscribe('phoenix.silent.*'); // receives the requests and never answers: the calls stay in flight
    const caller = harness.track(new NatsCaller(nc, 'silent'));
    const controller = new AbortController();
    const warnings = await warningsDuring(async () => {
      const calls = Array.from({ length: CALLS }, () =>
        outcome(caller.callAsync(ECHO, 'x', { signal: controller.signal, timeoutMs: Infinity })),
      );
      await nc.flush(); // every request reached the NATS server: they are in flight
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      controller.abort();
      expect(await Promise.all(calls)).toEqual(Array(CALLS).fill('ERR_PHOENIX_ABORTED'));
    });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(caller.pendingCalls).toBe(0);
  });

  it('take their listener off the signal once they are all answered', async () => {
    const nats = await harness.nats();
    const nc = harness.track(await connect({ servers: nats.url }));
    nc.subscribe('phoenix.echoing.*', {
      callback: (_error, msg) => {
        msg.respond(msg.data);
      },
    });
    const caller = harness.track(new NatsCaller(nc, 'echoing'));
    const controller = new AbortController();
    const warnings = await warningsDuring(async () => {
      const calls = Array.from({ length: CALLS }, (_, index) =>
        outcome(caller.call(ECHO, String(index), { signal: controller.signal })),
      );
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      expect(await Promise.all(calls)).toEqual(Array.from({ length: CALLS }, (_, index) => String(index)));
    });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });
});
