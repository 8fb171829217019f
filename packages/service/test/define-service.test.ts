import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bindService } from '../src/bind.js';
import type { MethodDefinition, Service } from '../src/define-service.js';
import { type Caller, defineService, jsonCodec, msgpackCodec, PhoenixError } from '../src/index.js';

interface Pair {
  first(): number;
  second(input: string): string;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'returned';
  } catch (error) {
    return PhoenixError.isInstance(error) ? error.code : `not a PhoenixError: ${String(error)}`;
  }
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('defineService', () => {
  it('maps each method to its func id, with its schemas, in definition order', () => {
    const input = z.string();
    const pair = defineService<Pair>('pair', { first: 1001, second: { id: 1002, input } });
    expect(pair.name).toBe('pair');
    expect(pair.codec).toBe(msgpackCodec);
    expect(pair.methods.map(({ name, id }) => [name, id])).toEqual([
      ['first', 1001],
      ['second', 1002],
    ]);
    expect(pair.method('second')?.input).toBe(input);
    expect(pair.method('third')).toBeUndefined();
  });

  it('takes a codec per service', () => {
    expect(defineService<Pair>('pair', { first: 1001, second: 1002 }, { codec: jsonCodec }).codec).toBe(jsonCodec);
  });

  it.each([
    ['a func id below 1001', { first: 1000, second: 1002 }],
    ['a func id that is not an integer', { first: 1001.5, second: 1002 }],
    ['a func id above 2^32-1', { first: 2 ** 32, second: 1002 }],
    ['a func id given as a string', { first: '1001', second: 1002 }],
    ['a method entry without id', { first: {}, second: 1002 }],
  ])('rejects %s with ERR_PHOENIX_INVALID_ARGUMENT', (_what, methods) => {
    expect(codeOf(() => defineService<Pair>('pair', methods as never))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('names the method whose func id is wrong', () => {
    expect(messageOf(() => defineService<Pair>('pair', { first: 7, second: 1002 }))).toContain('pair.first');
  });

  it('rejects two methods with the same func id', () => {
    const message = messageOf(() => defineService<Pair>('pair', { first: 1001, second: 1001 }));
    expect(message).toMatch(/first and second both use func id 1001/);
    expect(codeOf(() => defineService<Pair>('pair', { first: 1001, second: 1001 }))).toBe(
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
  });

  it('rejects a schema that is not a Standard Schema', () => {
    const bad = { first: 1001, second: { id: 1002, input: { parse: () => 'x' } } };
    expect(codeOf(() => defineService<Pair>('pair', bad as never))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('rejects a misspelt key in a method entry, which would leave that side unvalidated', () => {
    const schema = { '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) } };
    const bad = { first: 1001, second: { id: 1002, inptu: schema } };
    expect(codeOf(() => defineService<Pair>('pair', bad as never))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(messageOf(() => defineService<Pair>('pair', bad as never))).toBe(
      'pair.second: unknown key inptu; a method entry has id, input and output',
    );
    const spelt = { first: 1001, second: { id: 1002, input: schema } };
    expect(defineService<Pair>('pair', spelt as never).method('second')?.input).toBe(schema);
  });

  it('rejects a bad name, a bad codec and a method called then', () => {
    expect(codeOf(() => defineService<Pair>('', { first: 1001, second: 1002 }))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(codeOf(() => defineService<Pair>('pair', { first: 1001, second: 1002 }, { codec: {} as never }))).toBe(
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
    const thenable = Object.fromEntries([['then', 1001]]) as never;
    expect(codeOf(() => defineService<{ then(): void }>('thenable', thenable))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  // JSON.parse: an object literal's `__proto__: 1001` would set the prototype instead of making a key.
  it.each([
    ['__proto__', JSON.parse('{"__proto__":1001,"ok":1002}')],
    ['constructor', { constructor: 1001, ok: 1002 }],
    ['toString', { toString: 1001, ok: 1002 }],
    ['hasOwnProperty', { hasOwnProperty: 1001, ok: 1002 }],
  ])(
    'rejects the method name %s, which every object has already, with ERR_PHOENIX_INVALID_ARGUMENT',
    (name, methods) => {
      expect(() => defineService('odd', methods as never)).toThrow(
        expect.objectContaining({
          code: 'ERR_PHOENIX_INVALID_ARGUMENT',
          message: expect.stringContaining(`"${name}"`),
        }),
      );
    },
  );

  it.each(['', 'a b', '1st', 'get-user', 'a.b'])(
    'rejects the method name "%s", which is not an identifier, with ERR_PHOENIX_INVALID_ARGUMENT',
    (name) => {
      expect(() => defineService('odd', { [name]: 1001, ok: 1002 } as never)).toThrow(
        expect.objectContaining({
          code: 'ERR_PHOENIX_INVALID_ARGUMENT',
          message: expect.stringContaining('identifier'),
        }),
      );
    },
  );

  it('takes any identifier as a method name, reserved words and non-ASCII letters included', async () => {
    const names = ['delete', 'new', '_tick', '$run', 'größe', 'get_user2'];
    const service = defineService('words', Object.fromEntries(names.map((name, i) => [name, 1001 + i])) as never);
    expect(service.methods.map((method) => method.name)).toEqual(names);
    const api = service.bind({ callAsync: () => Promise.resolve({ payload: new Uint8Array(0) }) }) as unknown as Record<
      string,
      () => Promise<unknown>
    >;
    for (const name of names) expect(await api[name]!()).toBeUndefined();
  });

  it('rejects an option it does not know, and a func id that is a bigint, with ERR_PHOENIX_INVALID_ARGUMENT', () => {
    expect(() => defineService<Pair>('pair', { first: 1001, second: 1002 }, { codecs: jsonCodec } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT', message: expect.stringContaining('codecs') }),
    );
    expect(() => defineService<Pair>('pair', { first: 1001n, second: 1002 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT', message: expect.stringContaining('got 1001n') }),
    );
  });
});

describe('service.bind', () => {
  const pair = defineService<Pair>('pair', { first: 1001, second: 1002 });
  const calls: { funcId: number; payload: Uint8Array; options: unknown }[] = [];
  const recorder: Caller = {
    callAsync(funcId, payload, options) {
      calls.push({ funcId, payload, options });
      return Promise.resolve({ payload: msgpackCodec.encode(`reply to ${funcId}`) });
    },
  };

  it('rejects a caller without callAsync', () => {
    expect(codeOf(() => pair.bind({} as Caller))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('calls the func id with the encoded input and passes the options on', async () => {
    const api = pair.bind(recorder);
    const signal = new AbortController().signal;
    expect(await api.second('hello', { timeoutMs: 5, signal })).toBe('reply to 1002');
    const call = calls.at(-1)!;
    expect(call.funcId).toBe(1002);
    expect(msgpackCodec.decode(call.payload)).toBe('hello');
    expect(call.options).toEqual({ timeoutMs: 5, signal });
  });

  it('sends an empty payload for a method without input', async () => {
    const api = pair.bind(recorder);
    await api.first();
    await api.first(undefined, { timeoutMs: 50 });
    expect(calls.slice(-2).map((call) => call.payload.length)).toEqual([0, 0]);
  });

  it('throws a TypeError that names the service for an unknown method, and passes probes', async () => {
    const api = pair.bind(recorder) as unknown as Record<string, unknown>;
    expect(() => api.third).toThrow(TypeError);
    expect(() => api.third).toThrow('service "pair" has no method "third"');
    expect(() => api.get_user).toThrow('service "pair" has no method "get_user"');
    expect(() => api.second2).toThrow('service "pair" has no method "second2"');
    expect(() => api.grösse).toThrow('service "pair" has no method "grösse"');
    expect(() => api.$rum).toThrow('service "pair" has no method "$rum"');
    expect(api.then).toBeUndefined();
    expect(api.$$typeof).toBeUndefined();
    expect(api._isMockFunction).toBeUndefined();
    expect(api.__esModule).toBeUndefined();
    expect(api['@@__IMMUTABLE_ITERABLE__@@']).toBeUndefined();
    expect(await Promise.resolve(api)).toBe(api);
    expect(typeof api.toString).toBe('function');
  });

  it('defines the methods on the proxy, never assigns them: a method called __proto__ keeps its prototype', () => {
    // A service object made by hand (defineService refuses the name): bind must not set a prototype either.
    const method = (name: string, id: number): MethodDefinition => ({
      name,
      id,
      input: undefined,
      output: undefined,
      label: `odd.${name}`,
    });
    const methods = [method('__proto__', 1001), method('ok', 1002)];
    const odd = {
      name: 'odd',
      codec: msgpackCodec,
      methods,
      method: (name: string) => methods.find((entry) => entry.name === name),
    } as unknown as Service<unknown>;
    const api = bindService(odd, recorder) as unknown as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(api, '__proto__')?.value).toBeTypeOf('function');
    expect(() => api.missing).toThrow(
      new TypeError('service "odd" has no method "missing" (its methods: __proto__, ok)'),
    );
  });

  it.each([
    ['a function', () => 1],
    ['an object with a method', { id: 1, retry() {} }],
    ['a boxed number', new Number(5)],
    ['a SharedArrayBuffer', new SharedArrayBuffer(8)],
    ['a Promise (a forgotten await)', { total: Promise.resolve(3) }],
  ])(
    'rejects an input holding %s with ERR_PHOENIX_INVALID_ARGUMENT naming the method, before calling',
    async (_what, input) => {
      const before = calls.length;
      const error = await pair
        .bind(recorder)
        .second(input as never)
        .catch((e: PhoenixError) => e);
      expect(error).toMatchObject({
        code: 'ERR_PHOENIX_INVALID_ARGUMENT',
        message: expect.stringContaining('pair.second'),
      });
      expect(calls.length).toBe(before);
    },
  );

  it('rejects more than one input value, and options that are not an object', async () => {
    const api = pair.bind(recorder) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const tooMany = await api.second!('a', 'b', {}).catch((error: PhoenixError) => error.code);
    expect(tooMany).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    const priority = await api.second!('a', 1).catch((error: PhoenixError) => error.code);
    expect(priority).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('rejects an input the codec cannot encode, before calling', async () => {
    const json = defineService<Pair>('pair', { first: 1001, second: 1002 }, { codec: jsonCodec }).bind(recorder);
    const before = calls.length;
    const error = await json.second(10n as unknown as string).catch((e: PhoenixError) => e);
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' });
    expect((error as Error).message).toContain('pair.second');
    expect(calls.length).toBe(before);
  });

  it('takes a codec without a name, and calls it "custom" in messages', async () => {
    const plain = {
      encode: (value: unknown) => jsonCodec.encode(value),
      decode: (bytes: Uint8Array) => jsonCodec.decode(bytes),
    };
    const service = defineService<Pair>('pair', { first: 1001, second: 1002 }, { codec: plain });
    expect(service.codec).toBe(plain);
    const error = await service
      .bind(recorder)
      .second(10n as unknown as string)
      .catch((e: PhoenixError) => e);
    expect((error as Error).message).toContain('with the custom codec');
  });

  it('rejects a reply that does not decode with ERR_PHOENIX_HANDLER_FAILED', async () => {
    const garbage: Caller = { callAsync: () => Promise.resolve({ payload: new Uint8Array([0xc1]) }) };
    const error = await pair
      .bind(garbage)
      .first()
      .catch((e: PhoenixError) => e);
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_HANDLER_FAILED' });
  });

  it('rejects an input too large for any transport with ERR_PHOENIX_PAYLOAD_TOO_LARGE naming the method, sending nothing', async () => {
    let sent = 0;
    const counting: Caller = {
      callAsync: () => {
        sent++;
        return Promise.resolve({ payload: new Uint8Array(0) });
      },
    };
    const sparse: string[] = [];
    sparse[2 ** 32 - 2] = 'x';
    const error = await pair
      .bind(counting)
      .second(sparse as unknown as string)
      .catch((e: PhoenixError) => e);
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_PAYLOAD_TOO_LARGE' });
    expect((error as Error).message).toMatch(/^pair\.second: /);
    expect(sent).toBe(0);
  }, 30_000);

  it('names the method in ERR_PHOENIX_PAYLOAD_TOO_LARGE, keeping the facts', async () => {
    const tooLarge: Caller = {
      callAsync: () =>
        Promise.reject(
          new PhoenixError('ERR_PHOENIX_PAYLOAD_TOO_LARGE', 'request payload of 9 bytes exceeds maxPayloadBytes 8', {
            funcId: 1002,
          }),
        ),
    };
    const error = await pair
      .bind(tooLarge)
      .second('x')
      .catch((e: PhoenixError) => e);
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_PAYLOAD_TOO_LARGE', funcId: 1002 });
    expect((error as Error).message).toBe('pair.second: request payload of 9 bytes exceeds maxPayloadBytes 8');
  });
});
