import type { PhoenixError } from '@phoenix-ipc/client';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NatsCaller } from '../src/index.js';
import { Harness, SERVICE, SUBJECT, segmentsWithPrefix } from './harness.js';

const WHO = 1002;
const text = new TextDecoder();

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
