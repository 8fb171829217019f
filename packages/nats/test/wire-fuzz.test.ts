import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ERROR_CODES, PhoenixError } from '@phoenix-ipc/client';
import { mulberry32 } from '@phoenix-ipc/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEADLINE_HEADER,
  ERROR_HEADER,
  FUNC_ID_HEADER,
  NatsCaller,
  PRIORITY_HEADER,
  VERSION_HEADER,
} from '../src/index.js';
import type { NatsServer } from '../src/testing.js';
import { Harness, SERVICE, segmentsWithPrefix } from './harness.js';

// Random combinations of what garbage.test.ts and errors.test.ts send one case at a time. PHOENIX_FUZZ_SEED
// replays a run; the seed is in the test's name.
const SEED = Number(process.env.PHOENIX_FUZZ_SEED ?? 0x5eed);
const ROUNDS = 12;
const PER_ROUND = 25;
const CODES = Object.keys(ERROR_CODES);
// What the rogue may claim: every code but the one that would hide a caller that waited for its deadline.
const ROGUE_CODES = CODES.filter((code) => code !== 'ERR_PHOENIX_TIMEOUT');

const harness = new Harness();
let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await harness.nats();
  await harness.host(nats, 'target');
  nc = harness.track(await connect({ servers: nats.url }));
});
afterAll(async () => {
  await harness.cleanup();
  expect(segmentsWithPrefix()).toEqual([]);
});

/** Draws from one seeded stream: values that are right, values that are nearly right, and noise. */
class Draw {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(choices: readonly T[]): T {
    return choices[Math.floor(this.#next() * choices.length)]!;
  }

  /** Printable ASCII without CR or LF (what a NATS header value can hold), up to `most` characters. */
  text(most: number): string {
    let out = '';
    for (let i = Math.floor(this.#next() * (most + 1)); i > 0; i--) out += String.fromCharCode(32 + this.#next() * 95);
    return out.trim();
  }

  /** A subject token or header name: letters and digits. */
  token(): string {
    let out = '';
    for (let i = 1 + Math.floor(this.#next() * 8); i > 0; i--) out += this.pick([...'abcXYZ0123456789']);
    return out;
  }

  bytes(most: number): Uint8Array {
    const out = new Uint8Array(Math.floor(this.#next() * (most + 1)));
    for (let i = 0; i < out.length; i++) out[i] = this.#next() * 256;
    return out;
  }

  /** Sets `name` to one of `values`, to random text, or leaves it out. */
  header(into: MsgHdrs, name: string, values: readonly string[]): void {
    if (this.chance(0.15)) return;
    const value = this.chance(0.8) ? this.pick(values) : this.text(24);
    if (value !== '') into.set(name, value);
  }
}

function codeOf(hdrs: MsgHdrs | undefined): string {
  return hdrs?.get(ERROR_HEADER) ?? '';
}

describe('random requests on the service subjects: each gets a reply or a typed error reply', () => {
  it(`${ROUNDS * PER_ROUND} requests with random func id tokens, headers and payloads (seed ${SEED})`, async () => {
    const draw = new Draw(SEED);
    const tally: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const requests = Array.from({ length: PER_ROUND }, async () => {
        const token = draw.pick(['1001', '1001', '1001', '4242', '500', '0', '01001', '99999999999', draw.token()]);
        const body = draw.bytes(2048);
        const now = Date.now();
        let hdrs: MsgHdrs | undefined = headers();
        if (draw.chance(0.5)) {
          // Headers a caller sends, over a random payload.
          hdrs.set(VERSION_HEADER, '1');
          hdrs.set(PRIORITY_HEADER, draw.pick(['0', '1']));
          hdrs.set(DEADLINE_HEADER, `${now + 10_000}`);
        } else if (draw.chance(0.8)) {
          draw.header(hdrs, VERSION_HEADER, ['1', '1', '1', '2', '0']);
          draw.header(hdrs, PRIORITY_HEADER, ['0', '1', '0', '2', '-1', 'high']);
          draw.header(hdrs, DEADLINE_HEADER, [
            `${now + 10_000}`,
            `${now + 10_000}`,
            `${now - 1000}`,
            '-5',
            'NaN',
            '1e400',
          ]);
          if (draw.chance(0.2)) hdrs.set(`X-${draw.token()}`, draw.text(16) || 'v');
        } else hdrs = undefined;
        const reply = await nc.request(`phoenix.${SERVICE}.${token}`, body, {
          timeout: 10_000,
          ...(hdrs === undefined ? {} : { headers: hdrs }),
        });
        const code = codeOf(reply.headers);
        if (code !== '') {
          expect(CODES).toContain(code);
          expect((JSON.parse(reply.string()) as { code: string }).code).toBe(code);
        } else {
          // Only the echo answers with a payload, and it answers with the request's.
          expect(token).toBe('1001');
          expect(Buffer.from(reply.data).equals(Buffer.from(body))).toBe(true);
        }
        tally[code || 'ok'] = (tally[code || 'ok'] ?? 0) + 1;
      });
      await Promise.all(requests);
    }
    // The mix holds calls that are served and calls that are refused.
    expect(tally.ok).toBeGreaterThan(0);
    expect(tally.ERR_PHOENIX_INVALID_ARGUMENT).toBeGreaterThan(0);
    const echo = await nc.request(`phoenix.${SERVICE}.1001`, 'still here', {
      timeout: 10_000,
      headers: (() => {
        const hdrs = headers();
        hdrs.set(VERSION_HEADER, '1');
        hdrs.set(PRIORITY_HEADER, '0');
        hdrs.set(DEADLINE_HEADER, String(Date.now() + 10_000));
        return hdrs;
      })(),
    });
    expect(echo.string()).toBe('still here');
  }, 60_000);
});

describe('random replies from another NATS client on the service subjects: every call settles at once', () => {
  it(`${ROUNDS * PER_ROUND} calls answered with random headers and bodies (seed ${SEED})`, async () => {
    // Answers and payloads from streams of their own: the answers are drawn as the requests arrive.
    const draw = new Draw(SEED + 1);
    const payloads = new Draw(SEED + 2);
    const rogue = harness.track(await connect({ servers: nats.url }));
    rogue.subscribe('phoenix.fuzzrogue.*', {
      callback: (_error, msg) => {
        const hdrs = headers();
        draw.header(hdrs, VERSION_HEADER, ['1', '1', '2', '']);
        if (draw.chance(0.5)) draw.header(hdrs, ERROR_HEADER, [...ROGUE_CODES, 'ERR_SOMETHING_NEW', 'Error']);
        if (draw.chance(0.5)) draw.header(hdrs, FUNC_ID_HEADER, ['1001', '0', '4294967295', '-1', '1.5', draw.token()]);
        if (draw.chance(0.2)) hdrs.set(`X-${draw.token()}`, draw.text(16) || 'v');
        const document = () =>
          JSON.stringify({
            code: draw.pick([...ROGUE_CODES, 'ERR_SOMETHING_NEW', 42, null]),
            message: draw.pick([draw.text(40), 7, null]),
            fields: draw.pick([{ seqId: draw.text(4), funcId: { a: 1 }, toString: 5, pid: 12 }, [1, 2], 'x', null]),
          });
        const body = draw.pick([() => draw.bytes(512), document, () => '', () => draw.text(64)])();
        msg.respond(body, { headers: hdrs });
      },
    });
    await rogue.flush();
    const caller = harness.track(
      await NatsCaller.connect({ servers: nats.url }, 'fuzzrogue', { defaultTimeoutMs: 10_000 }),
    );
    const tally: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const calls = Array.from({ length: PER_ROUND }, async () => {
        const outcome = await caller.call(1001, payloads.bytes(256)).then(
          (reply) => {
            expect(Buffer.isBuffer(reply.payload)).toBe(true);
            return 'reply';
          },
          (error: unknown) => {
            expect(error).toBeInstanceOf(PhoenixError);
            expect(CODES).toContain((error as PhoenixError).code);
            return (error as PhoenixError).code;
          },
        );
        tally[outcome] = (tally[outcome] ?? 0) + 1;
      });
      await Promise.all(calls);
    }
    // A garbled reply is an error at once, never a wait for the timeout.
    expect(tally.ERR_PHOENIX_TIMEOUT).toBeUndefined();
    expect(tally.reply).toBeGreaterThan(0);
  }, 60_000);
});
