import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCaller } from '../src/index.js';
import { Harness, SERVICE, segmentsWithPrefix } from './harness.js';

const ECHO = 1001;
const THROWS = 1005;

const harness = new Harness();
let nc: NatsConnection;
let caller: NatsCaller;

beforeAll(async () => {
  const nats = await harness.nats();
  await harness.host(nats, 'micro');
  nc = harness.track(await connect({ servers: nats.url }));
  caller = harness.track(await NatsCaller.connect({ servers: nats.url }, SERVICE));
});
afterAll(async () => {
  await harness.cleanup();
  expect(segmentsWithPrefix()).toEqual([]);
});

async function ask(subject: string): Promise<Record<string, unknown>> {
  return (await nc.request(subject, '', { timeout: 5000 })).json<Record<string, unknown>>();
}

describe('the bridge is a NATS micro service (io.nats.micro.v1)', () => {
  it('answers PING on $SRV.PING, $SRV.PING.<service> and $SRV.PING.<service>.<id>', async () => {
    const ping = await ask('$SRV.PING');
    expect(ping).toMatchObject({ type: 'io.nats.micro.v1.ping_response', name: SERVICE, version: '1.0.0' });
    expect(await ask(`$SRV.PING.${SERVICE}`)).toEqual(ping);
    expect(await ask(`$SRV.PING.${SERVICE}.${ping.id}`)).toEqual(ping);
  });

  it('lists one endpoint per func id in INFO, with its subject and queue group', async () => {
    const info = await ask(`$SRV.INFO.${SERVICE}`);
    expect(info.type).toBe('io.nats.micro.v1.info_response');
    const endpoints = info.endpoints as { name: string; subject: string; queue_group: string }[];
    expect(endpoints).toContainEqual(
      expect.objectContaining({ name: String(ECHO), subject: `phoenix.${SERVICE}.${ECHO}`, queue_group: SERVICE }),
    );
    expect(endpoints.map((endpoint) => Number(endpoint.name))).toEqual([
      1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009,
    ]);
  });

  it('counts requests and errors per func id in STATS', async () => {
    await caller.call(ECHO, 'a');
    await caller.call(ECHO, 'b');
    await caller.call(THROWS, '').catch(() => undefined);
    const stats = await ask(`$SRV.STATS.${SERVICE}`);
    expect(stats.type).toBe('io.nats.micro.v1.stats_response');
    const byName = new Map((stats.endpoints as { name: string }[]).map((endpoint) => [endpoint.name, endpoint]));
    expect(byName.get(String(ECHO))).toMatchObject({ num_requests: 2, num_errors: 0, last_error: '' });
    expect(byName.get(String(THROWS))).toMatchObject({ num_requests: 1, num_errors: 1 });
    expect((byName.get(String(THROWS)) as unknown as { last_error: string }).last_error).toContain(
      'ERR_PHOENIX_HANDLER_FAILED',
    );
  });
});
