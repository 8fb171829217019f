/**
 * The behaviour of a typed service as its callers see it, whatever the
 * transport: each test file runs this suite with its own way to reach a
 * server that implements fixtures/kitchen.mjs (an IpcClient in this process,
 * the supervisor's own calls, later NATS). Adding a transport is a caller
 * factory and one call of serviceSuite.
 */
import { statSegment } from '@phoenix-ipc/native-shm';
import { phoenixFailure } from '@phoenix-ipc/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BoundService, type Caller, Priority } from '../src/index.js';
import { type Kitchen, kitchen, type Plain, plain, undecodable } from './kitchen.js';

/** What a transport gives the suite. */
export interface Connection {
  caller: Caller;
  /** The segment of the server behind the caller (its workers' request payloads live there). */
  segment: string;
  /**
   * The caller copies each binary value of a reply once, into memory of its own (IpcClient,
   * IpcServer: default true): the suite then checks that no larger buffer lies behind it. A
   * transport whose replies arrive inside larger buffers (a NATS message) sets false.
   */
  repliesInOwnBuffer?: boolean;
  close(): Promise<void>;
}

/** The server options every transport starts its kitchen server with. */
export const KITCHEN_SERVER_OPTIONS = {
  normalWorkers: 1,
  vipWorkers: 1,
  maxClients: 2,
  maxPayloadBytes: 64 * 1024,
  normalQueueCapacity: 8,
};

const failure = phoenixFailure;

export function serviceSuite(open: () => Promise<Connection>): void {
  let connection: Connection;
  let api: BoundService<Kitchen>;
  let json: BoundService<Plain>;
  beforeAll(async () => {
    connection = await open();
    api = kitchen.bind(connection.caller);
    json = plain.bind(connection.caller);
  });
  afterAll(() => connection?.close());

  describe('values', () => {
    const values: [string, unknown][] = [
      ['an object', { id: 42, name: 'x', tags: ['a', 'b'], nested: { deep: [1, { deeper: true }] } }],
      ['an array', [1, 'two', [3], { four: 4 }]],
      ['strings', ['', 'plain', 'ünïcödé ✓ 𝄞', 'x'.repeat(5000)]],
      ['numbers', [0, 1, -1, 255, 65_536, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1), 1.5, -0.25, 1e300, Number.NaN]],
      ['infinities', [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]],
      ['-0, keeping its sign', [-0, { z: -0 }, { when: new Date(0), z: -0 }]],
      ['booleans', [true, false]],
      ['null, distinct from undefined', { a: null, b: undefined, list: [null, undefined] }],
      ['a top-level null', null],
      ['Dates', [new Date(0), new Date('2024-02-29T12:34:56.789Z'), new Date(-1e12)]],
      [
        'a Map with keys of any type',
        new Map<unknown, unknown>([
          ['a', 1],
          [2, 'b'],
          [true, { c: 3 }],
        ]),
      ],
      ['a Set', new Set([1, 'a', null])],
      ['BigInts, small and huge', [0n, 42n, -7n, 2n ** 64n, -(2n ** 100n)]],
      ['a Uint8Array', new Uint8Array([0, 1, 2, 254, 255])],
      ['a Buffer', Buffer.from('bytes, not base64')],
      ['an empty Uint8Array', new Uint8Array(0)],
      ['everything at once', { when: new Date(1), map: new Map([['k', new Set([1n])]]), data: new Uint8Array(3) }],
    ];

    it.each(values)('round-trips %s, types included', async (_what, value) => {
      expect(await api.echo(value)).toStrictEqual(value);
    });

    it('round-trips through an async handler', async () => {
      const value = { at: new Date(5), data: new Uint8Array([9]) };
      expect(await api.echoLater(value)).toStrictEqual(value);
    });

    it('calls a method without input, with or without call options', async () => {
      expect(await api.nothing()).toBeUndefined();
      expect(await api.nothing(undefined, { timeoutMs: 5000 })).toBeUndefined();
      expect((await api.whereAmI()).group).toBe('normal');
    });

    it('keeps every reply with its call when many are in flight (more than the queue holds)', async () => {
      const inputs = Array.from({ length: 200 }, (_, i) => ({
        i,
        data: new Uint8Array(1000).fill(i & 0xff),
        s: `#${i}`,
      }));
      const replies = await Promise.all(inputs.map((input) => api.echo(input)));
      expect(replies).toStrictEqual(inputs);
    });
  });

  describe('binary stays binary', () => {
    it('hands the handler a Uint8Array that is a view into shared memory, not a copy', async () => {
      const segmentBytes = statSegment(connection.segment).size;
      const facts = await api.describeBytes(new Uint8Array(1000).fill(5));
      expect(facts).toMatchObject({ length: 1000, first: 5, isBuffer: false });
      expect(facts.bufferBytes).toBe(segmentBytes);
    });

    it('hands the handler a Buffer as a Buffer view into shared memory', async () => {
      const facts = await api.describeBytes(Buffer.alloc(2000, 6));
      expect(facts).toMatchObject({ length: 2000, first: 6, isBuffer: true });
      expect(facts.bufferBytes).toBe(statSegment(connection.segment).size);
    });

    it("round-trips large binary values (sent in parts, straight from the caller's memory) intact", async () => {
      const data = new Uint8Array(40_000).map((_, i) => (i * 7) & 0xff);
      const value = { head: 'h', data, more: [Buffer.alloc(5000, 1), new Uint8Array(6000).fill(2)], tail: 9 };
      expect(await api.echo(value)).toStrictEqual(value);
    });

    it("gives the caller a reply's Uint8Array in the one copy taken from shared memory", async () => {
      const data = await api.bytesOfSize(50_000);
      expect(data).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(data)).toBe(false);
      expect(data.length).toBe(50_000);
      expect(data.every((byte) => byte === 7)).toBe(true);
      // Out of shared memory (not a view of the segment), and copied once: no buffer twice its size behind it.
      expect(data.buffer).toBeInstanceOf(ArrayBuffer);
      if (connection.repliesInOwnBuffer !== false) expect(data.buffer.byteLength - data.length).toBeLessThan(64);
    });
  });

  describe('errors', () => {
    it('gives the caller the name, message, code and fields of what the handler threw, values intact', async () => {
      const fields = {
        code: 'E_ON_FIRE',
        degrees: 451,
        since: new Date(0),
        serial: 10n ** 30n,
        rooms: new Set(['kitchen']),
        raw: new Uint8Array([1, 2]),
      };
      const error = await failure(api.fail(fields));
      expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
      expect(error.message).toBe('the kitchen is on fire');
      expect(error.remoteName).toBe('KitchenError');
      expect(error.remoteStack).toContain('the kitchen is on fire');
      expect(error.remote).toStrictEqual({ name: 'KitchenError', message: 'the kitchen is on fire', ...fields });
    });

    it('keeps the code and facts of a PhoenixError the handler threw', async () => {
      const error = await failure(api.failWithCode({ code: 'ERR_PHOENIX_UNAVAILABLE', message: 'the oven is off' }));
      expect(error).toMatchObject({ code: 'ERR_PHOENIX_UNAVAILABLE', message: 'the oven is off', workerIndex: 7 });
    });

    it('answers bytes that do not decode with ERR_PHOENIX_INVALID_ARGUMENT, and the worker goes on', async () => {
      const { pid } = await api.whereAmI();
      for (const garbage of [Buffer.from('not msgpack at all'), Buffer.from([0xc1]), Buffer.from([0xdd, 0xff, 0xff])]) {
        const error = await failure(connection.caller.callAsync(1001, garbage));
        expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
        expect(error.message).toContain('kitchen.echo');
      }
      expect(await api.whereAmI()).toEqual({ pid, group: 'normal' });
      expect(await api.echo('still serving')).toBe('still serving');
    });

    it('rejects a reply that does not decode with ERR_PHOENIX_HANDLER_FAILED, naming the method', async () => {
      const error = await failure(undecodable.bind(connection.caller).answer());
      expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
      expect(error.message).toContain('undecodable.answer');
      expect(await api.echo('still serving')).toBe('still serving');
    });

    it('rejects an input larger than maxPayloadBytes before sending it, naming the method', async () => {
      const error = await failure(api.echo({ data: new Uint8Array(70_000) }));
      expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
      expect(error.message).toContain('kitchen.echo');
    });

    it('rejects a result larger than maxPayloadBytes, naming the method', async () => {
      const error = await failure(api.bytesOfSize(70_000));
      expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
      expect(error.message).toContain('kitchen.bytesOfSize');
    });

    it('throws a TypeError naming the service for a method it does not have', () => {
      const untyped = api as unknown as Record<string, () => unknown>;
      expect(() => untyped.resise!()).toThrow(TypeError);
      expect(() => untyped.resise!()).toThrow(/kitchen/);
    });
  });

  describe('validation (zod schemas on the implementing side)', () => {
    it('rejects an invalid input with ERR_PHOENIX_INVALID_ARGUMENT listing the issues, before the handler runs', async () => {
      const before = await api.areaCalls();
      const error = await failure(api.area({ width: -1, height: 'tall' as unknown as number }));
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toContain('kitchen.area');
      expect(error.message).toContain('width');
      expect(error.message).toContain('height');
      expect(error.issues?.map((issue) => issue.path)).toEqual([['width'], ['height']]);
      expect(await api.areaCalls()).toBe(before);
      expect(await api.area({ width: 3, height: 4 })).toEqual({ area: 12 });
      expect(await api.areaCalls()).toBe(before + 1);
    });

    it('rejects an invalid output with ERR_PHOENIX_HANDLER_FAILED', async () => {
      const error = await failure(api.brokenArea());
      expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
      expect(error.message).toContain('kitchen.brokenArea');
      expect(error.issues?.[0]?.path).toEqual(['area']);
    });
  });

  describe('call options', () => {
    it('times out with ERR_PHOENIX_TIMEOUT', async () => {
      expect((await failure(api.slow(500, { timeoutMs: 50 }))).code).toBe('ERR_PHOENIX_TIMEOUT');
    });

    it('aborts with ERR_PHOENIX_ABORTED', async () => {
      const controller = new AbortController();
      const pending = api.slow(500, { signal: controller.signal });
      controller.abort();
      expect((await failure(pending)).code).toBe('ERR_PHOENIX_ABORTED');
    });

    it('sends Priority.High calls to the VIP workers', async () => {
      expect((await api.whereAmI(undefined, { priority: Priority.High })).group).toBe('vip');
    });

    it('refuses a misspelt option with ERR_PHOENIX_INVALID_ARGUMENT', async () => {
      const error = await failure(api.slow(500, { timeout: 50 } as never));
      expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
      expect(error.message).toContain('unknown call option timeout');
    });
  });

  describe('the JSON codec', () => {
    it('round-trips JSON values', async () => {
      const value = { list: [1, 'two', null, true, { three: 3.5 }], empty: {} };
      expect(await json.echo(value)).toStrictEqual(value);
    });

    it('sends bytes as base64 strings', async () => {
      expect(await json.echo({ data: new Uint8Array([1, 2, 3]) })).toEqual({ data: 'AQID' });
    });
  });
}
