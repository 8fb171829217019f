import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { connect, headers, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { type ScriptProcess, waitUntil } from '@phoenix-ipc/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_HEADER, ERROR_HEADER, PRIORITY_HEADER, VERSION_HEADER } from '../src/index.js';
import type { NatsServer } from '../src/testing.js';
import { Harness, segmentsWithPrefix } from './harness.js';

const ECHO = 1001;
const JOURNAL = 1004;

const harness = new Harness();
let nats: NatsServer;
let host: ScriptProcess;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await harness.nats();
  host = await harness.host(nats, 'target');
  nc = harness.track(await connect({ servers: nats.url }));
});
afterAll(async () => {
  await harness.cleanup();
  expect(segmentsWithPrefix()).toEqual([]);
});

function validHeaders(overrides: Record<string, string | null> = {}): MsgHdrs {
  const values: Record<string, string | null> = {
    [VERSION_HEADER]: '1',
    [PRIORITY_HEADER]: '0',
    [DEADLINE_HEADER]: String(Date.now() + 10_000),
    ...overrides,
  };
  const hdrs = headers();
  for (const [key, value] of Object.entries(values)) if (value !== null) hdrs.set(key, value);
  return hdrs;
}

function request(subject: string, data: string, hdrs?: MsgHdrs): Promise<Msg> {
  return nc.request(subject, data, { timeout: 10_000, ...(hdrs === undefined ? {} : { headers: hdrs }) });
}

function errorOf(msg: Msg): { code: string; message: string; fields: Record<string, unknown> } {
  expect(msg.headers?.get(VERSION_HEADER)).toBe('1');
  const body = JSON.parse(msg.string()) as { code: string; message: string; fields: Record<string, unknown> };
  expect(msg.headers?.get(ERROR_HEADER)).toBe(body.code);
  return body;
}

async function stillServes(): Promise<void> {
  const reply = await request('phoenix.test.1001', 'still here', validHeaders());
  expect(reply.headers?.get(ERROR_HEADER) ?? '').toBe('');
  expect(reply.string()).toBe('still here');
}

describe('garbage on the subject gets a clear error reply, and the bridge keeps serving', () => {
  it('a request without headers', async () => {
    const error = errorOf(await request('phoenix.test.1001', 'x'));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain('no headers');
    await stillServes();
  });

  it.each([
    [{ [VERSION_HEADER]: null }, 'no Phoenix-Version'],
    [{ [VERSION_HEADER]: '2' }, 'unsupported Phoenix-Version'],
    [{ [PRIORITY_HEADER]: null }, 'Phoenix-Priority'],
    [{ [PRIORITY_HEADER]: 'urgent' }, 'Phoenix-Priority'],
    [{ [DEADLINE_HEADER]: null }, 'Phoenix-Deadline'],
    [{ [DEADLINE_HEADER]: 'tomorrow' }, 'Phoenix-Deadline'],
    [{ [DEADLINE_HEADER]: '-5' }, 'Phoenix-Deadline'],
  ])('headers %j', async (overrides, mention) => {
    const error = errorOf(await request('phoenix.test.1001', 'x', validHeaders(overrides)));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain(mention);
    await stillServes();
  });

  it.each(['abc', '1001x', '01001', '-1001', '99999999999', '4294967296', '9999999999', '1e4'])(
    'func id token %j',
    async (token) => {
      const error = errorOf(await request(`phoenix.test.${token}`, 'x', validHeaders()));
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toContain(`phoenix.test.${token}`);
      expect(error.message).toContain('from 1 to 4294967295');
      await stillServes();
    },
  );

  it('a func id reserved for the framework, and one nobody registered', async () => {
    expect(errorOf(await request('phoenix.test.500', 'x', validHeaders())).code).toBe('ERR_PHOENIX_NO_HANDLER');
    const error = errorOf(await request('phoenix.test.4294967295', 'x', validHeaders()));
    expect(error.code).toBe('ERR_PHOENIX_NO_HANDLER');
    expect(error.fields.funcId).toBe(4294967295);
    await stillServes();
  });

  it('an unregistered func id is NO_HANDLER even without headers', async () => {
    const error = errorOf(await request('phoenix.test.4294967295', 'x'));
    expect(error.code).toBe('ERR_PHOENIX_NO_HANDLER');
    expect(error.fields.funcId).toBe(4294967295);
    await stillServes();
  });

  it('a request whose deadline has passed is answered ERR_PHOENIX_TIMEOUT without running', async () => {
    const dir = harness.directory();
    const error = errorOf(
      await request(
        `phoenix.test.${JOURNAL}`,
        `${dir}\tlate\t0`,
        validHeaders({ [DEADLINE_HEADER]: String(Date.now() - 1) }),
      ),
    );
    expect(error.code).toBe('ERR_PHOENIX_TIMEOUT');
    await stillServes();
    // A call with a deadline that has not passed runs (and journals): the late one never did.
    await request(`phoenix.test.${JOURNAL}`, `${dir}\ton-time\t0`, validHeaders());
    expect(readFileSync(join(dir, 'target.log'), 'utf8')).toBe('on-time\n');
  });

  it('a deadline too far away for a timer runs the call, and the host prints no TimeoutOverflowWarning', async () => {
    const from = host.messages.length;
    for (const deadline of ['9999999999999999', String(Date.now() + 2 ** 31 + 5000), String(Date.now() + 2 ** 31)]) {
      const reply = await request(`phoenix.test.${ECHO}`, 'far', validHeaders({ [DEADLINE_HEADER]: deadline }));
      expect(reply.headers?.get(ERROR_HEADER) ?? '').toBe('');
      expect(reply.string()).toBe('far');
    }
    // A warning is reported on the host's stdout before its reply leaves, so before this answer.
    await host.ask('stats', 'stats');
    expect(host.messages.slice(from).filter((message) => 'warning' in message)).toEqual([]);
    expect(host.stderr).not.toContain('TimeoutOverflowWarning');
  });

  it('a header block that is not NATS/1.0, sent with the raw protocol', async () => {
    const socket = tcpConnect(nats.port, '127.0.0.1');
    try {
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString('latin1');
      });
      await new Promise((resolve) => socket.once('connect', resolve));
      const block = 'GARBAGE \xff\r\nno colon here\r\n\r\n';
      socket.write('CONNECT {"verbose":false,"headers":true,"no_responders":true,"protocol":1}\r\nSUB raw.inbox 1\r\n');
      socket.write(`HPUB phoenix.test.1001 raw.inbox ${block.length} ${block.length + 2}\r\n${block}hi\r\n`, 'latin1');
      await waitUntil(() => received.includes('HMSG raw.inbox'), 10_000, 'the error reply');
      expect(received).toContain('Phoenix-Error: ERR_PHOENIX_INVALID_ARGUMENT');
      expect(received).toContain('no Phoenix-Version header');
    } finally {
      socket.destroy();
    }
    await stillServes();
  });

  it('a publish without a reply subject is counted as failed and answered by nothing', async () => {
    const before = (await host.ask('stats', 'stats')).stats as { received: number; failed: number };
    nc.publish(`phoenix.test.${ECHO}`, 'fire and forget', { headers: validHeaders() });
    await waitUntil(
      async () => ((await host.ask('stats', 'stats')).stats as { received: number }).received === before.received + 1,
      10_000,
      'the bridge to receive the publish',
    );
    const after = (await host.ask('stats', 'stats')).stats as { received: number; failed: number; inFlight: number };
    expect(after.failed).toBe(before.failed + 1);
    await stillServes();
  });

  it('stats add up: received = replied + failed + inFlight', async () => {
    const stats = (await host.ask('stats', 'stats')).stats as Record<string, number>;
    expect(stats.received).toBe(stats.replied! + stats.failed! + stats.inFlight!);
    expect(stats.failed).toBeGreaterThan(10);
  });
});
