import type { PhoenixError } from '@phoenix-ipc/client';
import { processesMentioning, waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NatsCaller } from '../src/index.js';
import { Harness, journal, SERVICE, SUBJECT, segmentsWithPrefix } from './harness.js';

const WHO = 1002;
const JOURNAL = 1004;
const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());
afterAll(() => {
  expect(segmentsWithPrefix()).toEqual([]);
});

describe('two hosts in one queue group', () => {
  it('both serve the calls of a caller in a third process', async () => {
    const nats = await harness.nats();
    await harness.host(nats, 'alpha');
    await harness.host(nats, 'beta');
    const caller = harness.track(
      await NatsCaller.connect({ servers: nats.url }, SERVICE, { defaultTimeoutMs: 10_000 }),
    );
    const answered = new Map<string, number>();
    for (let round = 0; round < 50 && answered.size < 2; round++) {
      const replies = await Promise.all(Array.from({ length: 20 }, () => caller.call(WHO, '')));
      for (const reply of replies) {
        const host = text.decode(reply.payload);
        answered.set(host, (answered.get(host) ?? 0) + 1);
      }
    }
    expect([...answered.keys()].sort()).toEqual(['alpha', 'beta']);
  });

  it('SIGKILL of one host mid-traffic: later calls succeed on the other, calls in flight on the dead one end TIMEOUT or SERVER_GONE, none runs twice', async () => {
    const nats = await harness.nats();
    const alpha = await harness.host(nats, 'alpha');
    await harness.host(nats, 'beta');
    const dir = harness.directory();
    const caller = harness.track(await NatsCaller.connect({ servers: nats.url }, SERVICE, { defaultTimeoutMs: 5000 }));

    interface Outcome {
      id: number;
      afterKill: boolean;
      host?: string;
      code?: string;
    }
    const outcomes: Outcome[] = [];
    let nextId = 0;
    let killSeen = false;
    let stop = false;
    let afterKillDone = 0;
    const lane = async () => {
      while (!stop) {
        const id = ++nextId;
        const afterKill = killSeen;
        try {
          const reply = await caller.call(JOURNAL, `${dir}\t${id}\t30`);
          const [host, echoed] = text.decode(reply.payload).split(' ');
          expect(Number(echoed)).toBe(id);
          outcomes.push({ id, afterKill, host });
        } catch (error) {
          outcomes.push({ id, afterKill, code: (error as PhoenixError).code });
        }
        if (afterKill && ++afterKillDone >= 150) stop = true;
      }
    };
    const lanes = Array.from({ length: 16 }, lane);

    await waitUntil(
      () => journal(dir, 'alpha').length >= 20 && journal(dir, 'beta').length >= 20,
      30_000,
      'traffic on both hosts',
    );
    alpha.child.kill('SIGKILL');
    await alpha.exited;
    // The NATS server has dropped the dead host's subscription: from now on only beta can be picked.
    await waitUntil(
      async () => (await nats.subscribers(SUBJECT)) === 1,
      10_000,
      'the NATS server to drop the dead host',
    );
    killSeen = true;
    await Promise.all(lanes);

    const later = outcomes.filter((outcome) => outcome.afterKill);
    expect(later.length).toBeGreaterThanOrEqual(150);
    expect(later.filter((outcome) => outcome.host !== 'beta')).toEqual([]);

    const failed = outcomes.filter((outcome) => outcome.code !== undefined);
    expect(failed.length).toBeGreaterThan(0); // the calls in flight on alpha when it died
    for (const outcome of failed) expect(['ERR_PHOENIX_TIMEOUT', 'ERR_PHOENIX_SERVER_GONE']).toContain(outcome.code);

    const ran = [...journal(dir, 'alpha'), ...journal(dir, 'beta')].map(Number);
    expect(ran.length).toBe(new Set(ran).size); // no call ran twice
    for (const outcome of outcomes.filter((o) => o.host !== undefined)) {
      expect(journal(dir, outcome.host!).filter((line) => Number(line) === outcome.id)).toHaveLength(1);
    }
    // alpha's workers died with it.
    await waitUntil(() => processesMentioning('HOST_TAG=alpha').length === 0, 10_000, "alpha's workers to die");
  });
});
