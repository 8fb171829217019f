import { type Handler, IpcServer, type ResponseHeader } from '@phoenix-ipc/server';
import { phoenixFailure } from '@phoenix-ipc/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineService,
  type HandlerHost,
  implement,
  jsonCodec,
  msgpackCodec,
  PhoenixError,
  type RemoteError,
} from '../src/index.js';
import { Harness } from './harness.js';

interface Shop {
  price(input: { item: string; count: number }): { total: number };
  open(): boolean;
  order(input: { item: string }): Promise<{ id: number }>;
}

const shop = defineService<Shop>('shop', {
  price: {
    id: 1001,
    input: z.object({ item: z.string(), count: z.number().int().positive() }),
    output: z.object({ total: z.number().nonnegative() }),
  },
  open: 1002,
  order: { id: 1003, input: z.object({ item: z.string() }).refine(async (value) => value.item !== 'nothing') },
});

/** An in-process stand-in for IpcServer: keeps the handlers and runs them the way a worker does. */
class FakeHost implements HandlerHost {
  readonly handlers = new Map<number, Handler>();
  registerHandler(funcId: number, handler: Handler): void {
    this.handlers.set(funcId, handler);
  }

  /** Runs the handler of funcId like a worker: reply area of `room` bytes; resolves to the reply bytes. */
  async run(funcId: number, payload: Uint8Array, room = 4096): Promise<Uint8Array> {
    const responsePayload = new Uint8Array(room);
    const response: ResponseHeader = { seqId: 1, funcId, payloadLen: 0 };
    const result = await this.handlers.get(funcId)!(
      { seqId: 1, funcId, payloadLen: payload.length } as never,
      payload,
      response,
      responsePayload,
    );
    return result instanceof Uint8Array ? result : responsePayload.subarray(0, response.payloadLen);
  }
}

/** Like IpcServer: refuses a func id that has a handler, lists and removes handlers. */
class StrictHost extends FakeHost {
  override registerHandler(funcId: number, handler: Handler): void {
    if (this.handlers.has(funcId)) throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `${funcId} is taken`);
    super.registerHandler(funcId, handler);
  }
  registeredFuncIds(): number[] {
    return [...this.handlers.keys()].sort((a, b) => a - b);
  }
  unregisterHandler(funcId: number): boolean {
    return this.handlers.delete(funcId);
  }
}

/** StrictHost without registeredFuncIds: implement() cannot look before it registers. */
class BlindHost extends FakeHost {
  override registerHandler(funcId: number, handler: Handler): void {
    if (this.handlers.has(funcId)) throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `${funcId} is taken`);
    super.registerHandler(funcId, handler);
  }
  unregisterHandler(funcId: number): boolean {
    return this.handlers.delete(funcId);
  }
}

interface Pair {
  a(): number;
  b(): number;
}
const handlePair = { a: () => 1, b: () => 2 };

const failure = phoenixFailure;

function implemented(handlers: Partial<Record<keyof Shop, (input: never) => unknown>> = {}): FakeHost {
  const host = new FakeHost();
  implement(host, shop, {
    price: ({ count }: { count: number }) => ({ total: count * 2 }),
    open: () => true,
    order: async () => ({ id: 7 }),
    ...handlers,
  } as never);
  return host;
}

describe('implement', () => {
  it('registers one handler per method, on its func id', () => {
    expect([...implemented().handlers.keys()]).toEqual([1001, 1002, 1003]);
  });

  it('decodes the input, runs the handler and writes its encoded result into the reply area', async () => {
    const reply = await implemented().run(1001, msgpackCodec.encode({ item: 'pen', count: 3 }));
    expect(msgpackCodec.decode(reply)).toEqual({ total: 6 });
  });

  it('calls handlers with the handlers object as this', async () => {
    const host = new FakeHost();
    implement(host, shop, {
      openToday: true,
      price: () => ({ total: 0 }),
      open(this: { openToday: boolean }) {
        return this.openToday;
      },
      order: async () => ({ id: 1 }),
    } as never);
    expect(msgpackCodec.decode(await host.run(1002, new Uint8Array(0)))).toBe(true);
  });

  it('rejects a method without handler, a handler without method, and a server without registerHandler', () => {
    const code = (fn: () => void) => {
      try {
        fn();
        return 'returned';
      } catch (error) {
        return (error as PhoenixError).code;
      }
    };
    const handlers = { price: () => ({ total: 0 }), open: () => true, order: async () => ({ id: 1 }) };
    const { order: _order, ...missing } = handlers;
    expect(code(() => implement(new FakeHost(), shop, missing as never))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(code(() => implement(new FakeHost(), shop, { ...handlers, close: () => true } as never))).toBe(
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
    expect(code(() => implement({} as HandlerHost, shop, handlers))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an empty object', {}],
    ['a string', 'shop'],
    ['a bound service', shop.bind({ callAsync: () => Promise.resolve({ payload: new Uint8Array(0) }) })],
  ])('rejects %s as the service with ERR_PHOENIX_INVALID_ARGUMENT naming defineService', (_what, service) => {
    expect(() => implement({ registerHandler() {} }, service as never, { a() {} } as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_PHOENIX_INVALID_ARGUMENT',
        message: expect.stringContaining('the second argument must be a service from defineService'),
      }),
    );
  });

  it('rejects handlers that are not an object with ERR_PHOENIX_INVALID_ARGUMENT', () => {
    for (const handlers of [null, undefined, 'open']) {
      expect(() => implement(new FakeHost(), shop, handlers as never)).toThrow(
        expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT', message: expect.stringContaining('handlers') }),
      );
    }
  });

  it('registers none of the methods when one of their func ids is taken, naming it', () => {
    const host = new StrictHost();
    implement(host, defineService<Pair>('first', { a: 6001, b: 6002 }), handlePair);
    const second = defineService<Pair>('second', { a: 6003, b: 6002 });
    expect(() => implement(host, second, handlePair)).toThrow(
      expect.objectContaining({
        code: 'ERR_PHOENIX_INVALID_ARGUMENT',
        funcId: 6002,
        message: expect.stringContaining('func id 6002 of second.b already has a handler'),
      }),
    );
    expect(host.registeredFuncIds()).toEqual([6001, 6002]);
  });

  it('undoes the registrations made before one that fails, on a host without registeredFuncIds', () => {
    const host = new BlindHost();
    implement(host, defineService<Pair>('first', { a: 6001, b: 6002 }), handlePair);
    expect(() => implement(host, defineService<Pair>('second', { a: 6003, b: 6002 }), handlePair)).toThrow(
      '6002 is taken',
    );
    expect([...host.handlers.keys()]).toEqual([6001, 6002]);
  });

  it('rejects bytes that do not decode with ERR_PHOENIX_INVALID_ARGUMENT, without running the handler', async () => {
    let ran = 0;
    const host = implemented({ open: () => ++ran > 0 });
    const error = await failure(host.run(1002, new Uint8Array([0x92, 0x01])));
    expect(error.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(error.message).toContain('shop.open');
    expect(ran).toBe(0);
  });

  it('rejects an invalid input with the issues, before the handler runs (async schemas too)', async () => {
    let ran = 0;
    const host = implemented({
      price: () => ({ total: ++ran }),
      order: async () => ({ id: ++ran }),
    });
    const sync = await failure(host.run(1001, msgpackCodec.encode({ item: 5, count: 0 })));
    expect(sync.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(sync.issues).toEqual([
      { message: expect.any(String), path: ['item'] },
      { message: expect.any(String), path: ['count'] },
    ]);
    const asynchronous = await failure(host.run(1003, msgpackCodec.encode({ item: 'nothing' })));
    expect(asynchronous.code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(ran).toBe(0);
  });

  it('hands the handler what the schema returns', async () => {
    const trimmed = defineService<{ echo(input: string): string }>('trim', {
      echo: { id: 1001, input: z.string().trim() },
    });
    const host = new FakeHost();
    implement(host, trimmed, { echo: (input) => `[${input}]` });
    expect(msgpackCodec.decode(await host.run(1001, msgpackCodec.encode('  x  ')))).toBe('[x]');
  });

  it('rejects an invalid result with ERR_PHOENIX_HANDLER_FAILED', async () => {
    const error = await failure(
      implemented({ price: () => ({ total: -1 }) }).run(1001, msgpackCodec.encode({ item: 'a', count: 1 })),
    );
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.issues?.[0]?.path).toEqual(['total']);
  });

  it('turns a thrown error into ERR_PHOENIX_HANDLER_FAILED with its description, encoded by the codec', async () => {
    const thrown = Object.assign(new TypeError('sold out'), { code: 'E_SOLD_OUT', since: new Date(3), left: 0n });
    const error = await failure(
      implemented({
        order: async () => {
          throw thrown;
        },
      }).run(1003, msgpackCodec.encode({ item: 'pen' })),
    );
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.remoteName).toBe('TypeError');
    expect(error.remote).toEqual({
      name: 'TypeError',
      message: 'sold out',
      code: 'E_SOLD_OUT',
      since: '1970-01-01T00:00:00.003Z',
      left: '0',
    });
    expect(msgpackCodec.decode(error.remoteData!)).toStrictEqual({
      name: 'TypeError',
      message: 'sold out',
      code: 'E_SOLD_OUT',
      since: new Date(3),
      left: 0n,
    } satisfies RemoteError);
  });

  it('leaves out the fields whose values the codec cannot encode', async () => {
    const host = new FakeHost();
    const tiny = defineService<{ go(): void }>('tiny', { go: 1001 }, { codec: jsonCodec });
    implement(host, tiny, {
      go: () => {
        throw Object.assign(new Error('no'), { big: 1n, fine: 'yes' });
      },
    });
    const error = await failure(host.run(1001, new Uint8Array(0)));
    expect(jsonCodec.decode(error.remoteData!)).toEqual({ name: 'Error', message: 'no', fine: 'yes' });
  });

  it('leaves out a field that holds a function deeper inside, which the codec refuses', async () => {
    const host = new FakeHost();
    const tiny = defineService<{ go(): void }>('tiny', { go: 1001 });
    implement(host, tiny, {
      go: () => {
        throw Object.assign(new Error('no'), { retry: { after: 5, run: () => 1 }, fine: 'yes' });
      },
    });
    const error = await failure(host.run(1001, new Uint8Array(0)));
    expect(msgpackCodec.decode(error.remoteData!)).toStrictEqual({ name: 'Error', message: 'no', fine: 'yes' });
  });

  it('rejects a result holding a function with ERR_PHOENIX_HANDLER_FAILED naming the method', async () => {
    const host = new FakeHost();
    const tiny = defineService<{ go(): unknown }>('tiny', { go: 1001 });
    implement(host, tiny, { go: () => ({ id: 1, later: () => 2 }) });
    const error = await failure(host.run(1001, new Uint8Array(0)));
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toContain('tiny.go');
    expect(error.message).toContain('a function (later) cannot be encoded');
  });

  it('leaves out fields that hold functions or symbols, which a codec may turn into nothing', async () => {
    const host = new FakeHost();
    const tiny = defineService<{ go(): void }>('tiny', { go: 1001 });
    implement(host, tiny, {
      go: () => {
        throw Object.assign(new Error('no'), { retry: () => 1, tag: Symbol('t'), fine: 'yes' });
      },
    });
    const error = await failure(host.run(1001, new Uint8Array(0)));
    expect(msgpackCodec.decode(error.remoteData!)).toStrictEqual({ name: 'Error', message: 'no', fine: 'yes' });
  });

  it('passes a thrown PhoenixError on as it is', async () => {
    const thrown = new PhoenixError('ERR_PHOENIX_TIMEOUT', 'inner call timed out');
    const error = await failure(
      implemented({
        open: () => {
          throw thrown;
        },
      }).run(1002, new Uint8Array(0)),
    );
    expect(error).toBe(thrown);
  });

  it('rejects a result larger than the reply area with ERR_PHOENIX_PAYLOAD_TOO_LARGE naming the method', async () => {
    const host = new FakeHost();
    const big = defineService<{ make(): Uint8Array }>('big', { make: 1001 });
    implement(host, big, { make: () => new Uint8Array(10_000) });
    const error = await failure(host.run(1001, new Uint8Array(0), 4096));
    expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('big.make');
  });

  it('rejects a result too large for any transport with ERR_PHOENIX_PAYLOAD_TOO_LARGE naming the method', async () => {
    const host = new FakeHost();
    const sparse: number[] = [];
    sparse[2 ** 32 - 2] = 1;
    const huge = defineService<{ make(): number[] }>('huge', { make: 1001 });
    implement(host, huge, { make: () => sparse });
    const error = await failure(host.run(1001, new Uint8Array(0), 4096));
    expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('huge.make');
  }, 30_000);

  it('writes every result into the reply area and sets its length', async () => {
    const host = new FakeHost();
    const big = defineService<{ make(): { when: Date; data: Uint8Array } }>('big', { make: 1001 });
    implement(host, big, { make: () => ({ when: new Date(2), data: new Uint8Array(5000).fill(4) }) });
    const handler = host.handlers.get(1001)!;
    for (let i = 0; i < 2; i++) {
      const area = new Uint8Array(8192);
      const response: ResponseHeader = { seqId: 1, funcId: 1001, payloadLen: 0 };
      expect(await handler({} as never, new Uint8Array(0), response, area)).toBeUndefined();
      expect(msgpackCodec.decode(area.subarray(0, response.payloadLen))).toStrictEqual({
        when: new Date(2),
        data: new Uint8Array(5000).fill(4),
      });
    }
  });

  it('copies what a codec without encodeInto encodes', async () => {
    const host = new FakeHost();
    const json = defineService<{ hello(): string }>('json', { hello: 1001 }, { codec: jsonCodec });
    implement(host, json, { hello: () => 'hi' });
    expect(jsonCodec.decode(await host.run(1001, new Uint8Array(0)))).toBe('hi');
  });
});

describe('implement on an IpcServer', () => {
  const harness = new Harness();
  afterAll(() => harness.cleanup());

  it('registers none of a service whose func id is taken, so that a corrected retry succeeds', async () => {
    const server = harness.server(await IpcServer.create(harness.name('implement'), { normalWorkers: 1 }));
    implement(server, defineService<Pair>('first', { a: 6001, b: 6002 }), handlePair);
    const clashing = defineService<Pair>('second', { a: 6003, b: 6002 });
    expect(() => implement(server, clashing, handlePair)).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT', funcId: 6002 }),
    );
    expect(server.registeredFuncIds()).toEqual([6001, 6002]);
    implement(server, defineService<Pair>('second', { a: 6003, b: 6004 }), handlePair);
    expect(server.registeredFuncIds()).toEqual([6001, 6002, 6003, 6004]);
  });
});
