import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PhoenixError } from '@phoenix-ipc/client';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NatsCaller } from '../src/index.js';
import { Harness, SERVICE, segmentsWithPrefix } from './harness.js';

const ECHO = 1001;
const JOURNAL = 1004;
const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());
afterAll(() => {
  expect(segmentsWithPrefix()).toEqual([]);
});

function journal(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'draining.log'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('bridge.stop()', () => {
  it('under load, answers every call it accepted; later calls find no responders', async () => {
    const nats = await harness.nats();
    const host = await harness.host(nats, 'draining');
    const dir = harness.directory();
    const caller = harness.track(
      await NatsCaller.connect({ servers: nats.url }, SERVICE, { defaultTimeoutMs: 10_000 }),
    );

    const succeeded: number[] = [];
    const refused: number[] = [];
    const other: string[] = [];
    let nextId = 0;
    const lane = async () => {
      // Each lane calls until it is refused: the bridge has stopped.
      for (;;) {
        const id = ++nextId;
        try {
          const reply = await caller.call(JOURNAL, `${dir}\t${id}\t15`);
          expect(text.decode(reply.payload)).toBe(`draining ${id}`);
          succeeded.push(id);
        } catch (error) {
          const code = (error as PhoenixError).code;
          if (code === 'ERR_PHOENIX_UNAVAILABLE') {
            refused.push(id);
            return;
          }
          other.push(`${id}: ${code} ${(error as Error).message}`);
          return;
        }
      }
    };
    const lanes = Array.from({ length: 24 }, lane);
    await waitUntil(() => journal(dir).length >= 100, 30_000, 'traffic');
    const { stats } = (await host.ask('stop-bridge', 'bridgeStopped')) as {
      stats: { received: number; replied: number; failed: number; inFlight: number };
    };
    await Promise.all(lanes);

    expect(other).toEqual([]); // no TIMEOUT, no SERVER_GONE: nothing accepted was dropped
    expect(refused).toHaveLength(24);
    expect(stats).toEqual({ received: succeeded.length, replied: succeeded.length, failed: 0, inFlight: 0 });
    const ran = journal(dir).map(Number);
    expect(ran.sort((a, b) => a - b)).toEqual([...succeeded].sort((a, b) => a - b)); // each ran once, no refused one ran
    // The server itself keeps running: only the bridge stopped.
    expect(host.exit).toBeNull();
    expect(await caller.call(ECHO, 'x').catch((error: PhoenixError) => error.code)).toBe('ERR_PHOENIX_UNAVAILABLE');
  });
});
