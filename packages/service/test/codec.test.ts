// Over 400 lines on purpose: every value kind the codecs carry, one spec each, for both codecs.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { jsonCodec, msgpackCodec } from '../src/index.js';

const roundTrip = (value: unknown) => msgpackCodec.decode(msgpackCodec.encode(value));

describe('the msgpackr codec', () => {
  it('round-trips every value type a service passes', () => {
    const value = {
      object: { id: 42, name: 'x', tags: ['a', 'b'] },
      strings: ['', 'ünïcödé'],
      numbers: [0, -1, 1.5, 2 ** 53 - 1, Number.NaN, Number.POSITIVE_INFINITY],
      flags: [true, false],
      nothing: [null, undefined],
      missing: undefined,
      when: new Date('2020-01-01T00:00:00.123Z'),
      map: new Map<unknown, unknown>([
        [1, 'one'],
        ['two', new Date(2)],
      ]),
      set: new Set(['a', 1]),
      bigints: [1n, -(2n ** 80n)],
      bytes: new Uint8Array([1, 2, 3]),
      buffer: Buffer.from('buf'),
      floats: new Float64Array([1.5, -2]),
    };
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('copies shared references and refuses a cycle with an error', () => {
    const shared = { id: 1 };
    const decoded = roundTrip({ a: shared, b: shared }) as { a: object; b: object };
    expect(decoded).toStrictEqual({ a: { id: 1 }, b: { id: 1 } });
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(() => msgpackCodec.encode(cyclic)).toThrow();
  });

  it('keeps the type of Map keys and the order of entries', () => {
    const map = new Map<unknown, unknown>([
      [3, 'three'],
      ['3', 'string three'],
      [null, 0],
      [new Date(1), [1]],
    ]);
    const decoded = roundTrip(map) as Map<unknown, unknown>;
    expect([...decoded.keys()]).toStrictEqual([3, '3', null, new Date(1)]);
    expect(roundTrip(new Map())).toStrictEqual(new Map());
    const big = new Map(Array.from({ length: 70_000 }, (_, i) => [i, i]));
    expect(roundTrip(big)).toStrictEqual(big);
  });

  it('decodes a Uint8Array and a Buffer as views of the encoded bytes, not copies', () => {
    const bytes = msgpackCodec.encode({ plain: new Uint8Array(4096).fill(1), buffer: Buffer.alloc(4096, 2) });
    const decoded = msgpackCodec.decode(bytes) as { plain: Uint8Array; buffer: Buffer };
    expect(decoded.plain.buffer).toBe(bytes.buffer);
    expect(decoded.buffer.buffer).toBe(bytes.buffer);
    expect(Buffer.isBuffer(decoded.plain)).toBe(false);
    expect(Buffer.isBuffer(decoded.buffer)).toBe(true);
  });

  it('decodes views of a plain Uint8Array input too (a view into shared memory is one)', () => {
    const encoded = msgpackCodec.encode({ data: new Uint8Array([5, 6, 7]) });
    const memory = new Uint8Array(new ArrayBuffer(1024), 100, encoded.length);
    memory.set(encoded);
    const decoded = msgpackCodec.decode(memory) as { data: Uint8Array };
    expect(decoded.data).toEqual(new Uint8Array([5, 6, 7]));
    expect(decoded.data.buffer).toBe(memory.buffer);
  });

  it('never writes over bytes it returned earlier', () => {
    // Now and then a value larger than the arena, which makes msgpackr move to a larger buffer.
    const kept = Array.from({ length: 2000 }, (_, i) => ({
      value: { i, pad: 'p'.repeat(i % 100 === 0 ? 40_000 : i % 50) },
    }));
    const encoded = kept.map(({ value }) => {
      const bytes = msgpackCodec.encode(value);
      if (value.i % 7 === 0) msgpackCodec.encodeInto!({ other: value.i }, new Uint8Array(4096));
      return bytes;
    });
    expect(encoded.map((bytes) => msgpackCodec.decode(bytes))).toStrictEqual(kept.map(({ value }) => value));
  });

  it('encodes large binary values as parts of their own, by reference: the parts back to back are the encoding', () => {
    const big = new Uint8Array(10_000).fill(3);
    const buffer = Buffer.alloc(5000, 4);
    const value = { id: 1, data: big, nested: [buffer, 'x'], small: new Uint8Array(100) };
    const parts = msgpackCodec.encodeParts!(value);
    expect(Array.isArray(parts)).toBe(true);
    const list = parts as Uint8Array[];
    expect(list).toContain(big); // not copied
    expect(list).toContain(buffer);
    const joined = Buffer.concat(list);
    expect(joined.equals(msgpackCodec.encode(value))).toBe(true);
    expect(msgpackCodec.decode(joined)).toStrictEqual(value);
  });

  it('decodes a reply in place with decodeFrom: binary values are copies, the memory may be reused at once', () => {
    const memory = new Uint8Array(new SharedArrayBuffer(4096));
    for (const value of [
      { data: new Uint8Array([1, 2, 3]), buffer: Buffer.from([4, 5]), name: 'x' },
      { when: new Date(5), data: new Uint8Array([6, 7]), map: new Map([[1, 'one']]) },
    ]) {
      const bytes = msgpackCodec.encode(value);
      memory.set(bytes, 100);
      const decoded = msgpackCodec.decodeFrom!(memory, 100, 100 + bytes.length) as Record<string, Uint8Array>;
      memory.fill(0xee);
      expect(decoded).toStrictEqual(value);
      expect(decoded.data!.buffer).not.toBe(memory.buffer);
    }
  });

  it('encodes requests with encodeParts into one reused buffer: a result is valid until the next encode', () => {
    const first = msgpackCodec.encodeParts!({ id: 1, name: 'x', tags: ['a', 'b'] }) as Uint8Array;
    expect(msgpackCodec.decode(first)).toStrictEqual({ id: 1, name: 'x', tags: ['a', 'b'] });
    const second = msgpackCodec.encodeParts!({ id: 2, name: 'y', tags: ['c', 'd'] }) as Uint8Array;
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset);
    expect(msgpackCodec.decode(second)).toStrictEqual({ id: 2, name: 'y', tags: ['c', 'd'] });
  });

  it('copies large binary values again in encode() after an encodeParts() whose getter threw', () => {
    const data = new Uint8Array(10_000).fill(1);
    const broken = {
      data,
      get boom(): number {
        throw new Error('getter failed');
      },
    };
    expect(() => msgpackCodec.encodeParts!(broken)).toThrow('getter failed');
    const bytes = msgpackCodec.encode({ data });
    expect(bytes.length).toBeGreaterThan(10_000);
    expect(msgpackCodec.decode(bytes)).toStrictEqual({ data });
  });

  it('encodes values without large binaries in one piece, and non-plain values through msgpackr', () => {
    for (const value of [{ id: 1, tags: ['a'] }, { when: new Date(5), data: new Uint8Array(10_000) }, 'text']) {
      const bytes = msgpackCodec.encodeParts!(value);
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(msgpackCodec.decode(bytes as Uint8Array)).toStrictEqual(value);
    }
  });

  it('reuses the memory of released results, and never writes over results not released', () => {
    const kept = { keep: 'me', data: new Uint8Array(30_000).fill(9) };
    const held = msgpackCodec.encode(kept);
    const seen = new Set<ArrayBufferLike>();
    for (let i = 0; i < 200; i++) {
      const bytes = msgpackCodec.encode({ i, data: new Uint8Array(30_000).fill(i & 0xff) });
      expect((msgpackCodec.decode(bytes) as { i: number }).i).toBe(i);
      seen.add(bytes.buffer);
      msgpackCodec.release!(bytes);
    }
    expect(seen.size).toBeLessThan(20);
    expect(msgpackCodec.decode(held)).toStrictEqual(kept);
  });

  it('copes with a getter that encodes something while its object is being encoded', () => {
    const inner = { inner: 'value', when: new Date(1) };
    let nested: Uint8Array | undefined;
    const plainOuter = {
      a: 1,
      get b() {
        nested = msgpackCodec.encode(inner);
        return 'b';
      },
      c: 'after',
    };
    expect(msgpackCodec.decode(msgpackCodec.encode(plainOuter))).toStrictEqual({ a: 1, b: 'b', c: 'after' });
    expect(msgpackCodec.decode(nested!)).toStrictEqual(inner);
    const richOuter = {
      when: new Date(2),
      get b() {
        nested = msgpackCodec.encode(inner);
        return new Set(['b']);
      },
    };
    expect(msgpackCodec.decode(msgpackCodec.encode(richOuter))).toStrictEqual({ when: new Date(2), b: new Set(['b']) });
    expect(msgpackCodec.decode(nested!)).toStrictEqual(inner);
  });

  it('encodes plain values into a target in place, and says when it cannot', () => {
    const memory = new ArrayBuffer(64 * 1024);
    const target = new Uint8Array(memory, 512, 1024);
    const plain = { a: 1, name: 'ünï', list: [1.5, null, true] };
    const written = msgpackCodec.encodeInto!(plain, target);
    expect(written).toBeGreaterThan(0);
    expect(msgpackCodec.decode(target.subarray(0, written))).toStrictEqual(plain);
    // Too large for the target: "use encode".
    expect(msgpackCodec.encodeInto!({ text: 'x'.repeat(2000) }, target)).toBe(-1);
  });

  it('encodes other values in place once it has seen a large one', () => {
    const target = new Uint8Array(new ArrayBuffer(128 * 1024), 512, 64 * 1024);
    const value = { when: new Date(3), data: new Uint8Array(8000).fill(1) };
    msgpackCodec.encode(value); // a large msgpackr result
    const written = msgpackCodec.encodeInto!(value, target);
    expect(written).toBeGreaterThan(8000);
    expect(msgpackCodec.decode(target.subarray(0, written))).toStrictEqual(value);
    const small = new Uint8Array(new ArrayBuffer(1024), 0, 100);
    expect(msgpackCodec.encodeInto!({ data: new Uint8Array(4000) }, small)).toBe(-1);
  });

  it('agrees with msgpackr on plain values and bytes, both ways', () => {
    const samples: unknown[] = [
      0,
      1,
      127,
      128,
      -1,
      -32,
      -33,
      255,
      256,
      65_535,
      65_536,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      2 ** 32,
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      0.5,
      -1.25,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1e-300,
      '',
      'a',
      'ascii text',
      'x'.repeat(31),
      'x'.repeat(32),
      'y'.repeat(300),
      'ü',
      '日本語',
      '𝄞 emoji',
      'x'.repeat(70_000),
      true,
      false,
      null,
      [],
      {},
      [[[]]],
      { a: { b: { c: [1, { d: 'e' }] } } },
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, i])),
      Array.from({ length: 20 }, (_, i) => i * 1.5),
      { __proto__x: 1, 'with space': 2, ünï: 3, '': 4 },
      Buffer.from('abc'),
      Buffer.alloc(0),
      Buffer.alloc(300, 1),
      Buffer.alloc(70_000, 2),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      new Uint8Array(300).fill(3),
      { data: new Uint8Array(70_000).fill(4), name: 'bytes' },
    ];
    const reference = new Packr({ useRecords: false, moreTypes: true });
    for (const value of samples) {
      const ours = msgpackCodec.encode(value);
      expect(reference.unpack(Buffer.from(ours)), JSON.stringify(value)?.slice(0, 50)).toStrictEqual(value);
      expect(msgpackCodec.decode(reference.pack(value)), JSON.stringify(value)?.slice(0, 50)).toStrictEqual(value);
    }
  });

  it('reads every fixed-size number msgpack has as msgpackr does, from a view at any offset of shared memory', () => {
    const messages = [
      [0xca, 0x3f, 0xc0, 0x00, 0x00], // float32 1.5
      [0xca, 0xff, 0x80, 0x00, 0x00], // float32 -Infinity
      [0xcb, 0xc0, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18], // float64 -pi
      [0xcc, 0xff],
      [0xcd, 0xff, 0xfe],
      [0xce, 0xff, 0xff, 0xff, 0xfd],
      [0xd0, 0x80],
      [0xd1, 0x80, 0x01],
      [0xd2, 0x80, 0x00, 0x00, 0x02],
      [0xd2, 0x7f, 0xff, 0xff, 0xff],
      [0x92, 0xcd, 0x01, 0x00, 0xd1, 0xff, 0x00], // in an array: [256, -256]
    ];
    const reference = new Packr({ useRecords: false, moreTypes: true });
    const memory = new Uint8Array(new SharedArrayBuffer(64), 3, 40);
    for (const message of messages) {
      const expected = reference.unpack(Buffer.from(message));
      memory.fill(0xc1).set(message, 5);
      const view = memory.subarray(5, 5 + message.length);
      expect(msgpackCodec.decode(view), Buffer.from(message).toString('hex')).toStrictEqual(expected);
      expect(msgpackCodec.decodeFrom!(memory, 5, 5 + message.length)).toStrictEqual(expected);
    }
  });

  it('writes in place into a view at any offset of shared memory, touching nothing around it', () => {
    const memory = new Uint8Array(new SharedArrayBuffer(1024), 7, 800);
    const target = memory.subarray(9, 9 + 600);
    memory.fill(0xee);
    const value = { id: -70_000, ratio: -0.1, name: 'ü'.repeat(100), tags: ['a', 'b'], data: Buffer.from([1, 2]) };
    const written = msgpackCodec.encodeInto!(value, target);
    expect(written).toBeGreaterThan(0);
    expect(msgpackCodec.decode(target.subarray(0, written))).toStrictEqual(value);
    expect(memory.subarray(0, 9).every((byte) => byte === 0xee)).toBe(true);
    expect(memory.subarray(9 + written).every((byte) => byte === 0xee)).toBe(true);
  });

  it('keeps -0 as -0, as a float64 that msgpackr reads as -0 too', () => {
    const plain = { z: -0, list: [-0, 0] };
    const rich = { when: new Date(1), z: -0, map: new Map([['z', -0]]) }; // msgpackr's path, not the plain writer's
    for (const value of [-0, plain, rich]) expect(roundTrip(value)).toStrictEqual(value);
    const target = new Uint8Array(64);
    expect(msgpackCodec.decode(target.subarray(0, msgpackCodec.encodeInto!(plain, target)))).toStrictEqual(plain);
    expect(msgpackCodec.decode(msgpackCodec.encodeParts!(plain) as Uint8Array)).toStrictEqual(plain);
    const bytes = msgpackCodec.encode(-0);
    expect([...bytes]).toEqual([0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    expect(msgpackCodec.decodeFrom!(bytes, 0, bytes.length)).toBe(-0);
    expect(new Packr({ useRecords: false }).unpack(Buffer.from(bytes))).toBe(-0);
  });

  it.each([
    ['a function', () => 1, 'a function'],
    ['a named function', function retry() {}, 'a function (retry)'],
    ['a field holding a function', { id: 1, run() {} }, 'a function (run)'],
    ['a function in an array', [1, Math.max], 'a function (max)'],
    ['a function as a Map value', new Map([['k', () => 1]]), 'a function'],
    ['a function beside a Date', { when: new Date(1), run() {} }, 'a function (run)'],
  ])('refuses %s with ERR_PHOENIX_INVALID_ARGUMENT, not nil', (_what, value, what) => {
    expect(() => msgpackCodec.encode(value)).toThrow(
      expect.objectContaining({
        code: 'ERR_PHOENIX_INVALID_ARGUMENT',
        message: `${what} cannot be encoded: functions are code, not data`,
      }),
    );
  });

  it.each([
    ['new Number(5)', new Number(5), 'a Number object'],
    ['new String("s")', new String('s'), 'a String object'],
    ['new Boolean(false)', new Boolean(false), 'a Boolean object'],
    ['Object(1n)', Object(1n), 'a BigInt object'],
    ['Object(Symbol())', Object(Symbol('s')), 'a Symbol object'],
    ['a boxed number in a field', { n: new Number(5) }, 'a Number object'],
  ])('refuses the boxed primitive %s with ERR_PHOENIX_INVALID_ARGUMENT, not an object', (_what, value, what) => {
    expect(() => msgpackCodec.encode(value)).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT', message: expect.stringContaining(what) }),
    );
  });

  it.each([
    ['a Promise', Promise.resolve(1), 'a Promise', 'await it'],
    ['a Promise in a field (a forgotten await)', { total: Promise.resolve(3) }, 'a Promise', 'await it'],
    ['a WeakMap', new WeakMap(), 'a WeakMap', 'cannot be read'],
    ['a WeakSet in an array', [new WeakSet()], 'a WeakSet', 'cannot be read'],
    ['a WeakRef', new WeakRef({}), 'a WeakRef', 'deref()'],
  ])('refuses %s with ERR_PHOENIX_INVALID_ARGUMENT, not an empty object', (_what, value, what, advice) => {
    expect(() => msgpackCodec.encode(value)).toThrow(
      expect.objectContaining({
        code: 'ERR_PHOENIX_INVALID_ARGUMENT',
        message: expect.stringMatching(new RegExp(`^${what} cannot be encoded: .*${advice.replace(/[()]/g, '\\$&')}`)),
      }),
    );
  });

  it('refuses a SharedArrayBuffer with ERR_PHOENIX_INVALID_ARGUMENT, and carries the bytes of a view of one', () => {
    const shared = new SharedArrayBuffer(4);
    new Uint8Array(shared).set([1, 2, 3, 4]);
    for (const value of [shared, { memory: shared }]) {
      expect(() => msgpackCodec.encode(value)).toThrow(
        expect.objectContaining({
          code: 'ERR_PHOENIX_INVALID_ARGUMENT',
          message: expect.stringContaining('a SharedArrayBuffer'),
        }),
      );
    }
    expect(roundTrip(new Uint8Array(shared))).toStrictEqual(new Uint8Array([1, 2, 3, 4]));
    expect(roundTrip(new Uint8Array([1, 2]).buffer)).toStrictEqual(new Uint8Array([1, 2]).buffer);
  });

  it('refuses a value that needs more than 64 MiB with ERR_PHOENIX_PAYLOAD_TOO_LARGE, before encoding the rest', () => {
    // One element at the end: every hole costs a byte, and the array would need 4 GiB.
    const sparse: number[] = [];
    sparse[2 ** 32 - 2] = 1;
    for (const value of [sparse, { deep: [sparse] }]) {
      expect(() => msgpackCodec.encode(value)).toThrow(
        expect.objectContaining({
          code: 'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
          message: expect.stringContaining('67108864'),
        }),
      );
    }
    expect(roundTrip([1, 2, 3])).toStrictEqual([1, 2, 3]);
  }, 30_000);

  it('carries an object of 65,536 keys and more', () => {
    const wide = Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i]));
    expect(roundTrip(wide)).toStrictEqual(wide);
    expect(roundTrip({ inner: wide })).toStrictEqual({ inner: wide });
  });

  it('writes a lone surrogate as U+FFFD, like any UTF-8 encoder', () => {
    expect(roundTrip('a\ud800b')).toBe('a\ufffdb');
    expect(roundTrip({ when: new Date(1), text: '\udc00' })).toStrictEqual({ when: new Date(1), text: '\ufffd' });
  });

  it('renames a __proto__ key, never setting a prototype', () => {
    const bytes = new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x81, 0xa1, 0x78, 0x01]);
    const decoded = msgpackCodec.decode(bytes) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(decoded.__proto_).toEqual({ x: 1 });
  });

  it('throws on bytes that are not msgpack', () => {
    for (const garbage of [[0xc1], [0x92, 0x01], [0x68, 0x65, 0x6c, 0x6c, 0x6f], [0xc7, 0x05, 0x74, 0x01]]) {
      expect(() => msgpackCodec.decode(new Uint8Array(garbage)), garbage.join(',')).toThrow();
    }
  });

  it('throws on the unused byte 0xc1 at any depth, where msgpackr would decode a marker object', () => {
    const date = [0xd6, 0xff, 0, 0, 0, 1]; // a Date: the message goes to msgpackr, not the plain reader
    const nested = [
      [0x91, 0xc1],
      [0x81, 0xa1, 0x61, 0xc1],
      [0x92, ...date, 0xc1],
      [0x91, 0x91, 0x81, 0xa1, 0x62, 0x92, 0x01, 0xc1],
    ];
    for (const garbage of nested) {
      const bytes = new Uint8Array(garbage);
      expect(() => msgpackCodec.decode(bytes), garbage.join(',')).toThrow('0xc1 is not a msgpack value');
      const memory = new Uint8Array(64);
      memory.set(bytes, 8);
      expect(() => msgpackCodec.decodeFrom!(memory, 8, 8 + bytes.length), garbage.join(',')).toThrow(
        '0xc1 is not a msgpack value',
      );
    }
  });

  it('decodes 0xc1 bytes inside binary values and numbers as the data they are', () => {
    const value = { bytes: Buffer.from([0xc1, 0xc1]), when: new Date(0xc1c1), n: 0xc1c1c1, f: -1.5 };
    expect(roundTrip(value)).toStrictEqual(value);
  });
});

describe('the JSON codec', () => {
  it('round-trips JSON values', () => {
    const value = { a: [1, 'x', null, false, { b: 2.5 }], c: 'ünïcödé' };
    expect(jsonCodec.decode(jsonCodec.encode(value))).toStrictEqual(value);
  });

  it("encodes into Node's Buffer pool the bytes TextEncoder would give, not an ArrayBuffer of its own", () => {
    const value = { text: 'ünïcödé 😀', lone: '\ud800' };
    const bytes = jsonCodec.encode(value);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(new TextEncoder().encode(JSON.stringify(value))));
    expect(bytes.buffer.byteLength).toBeGreaterThan(bytes.length);
  });

  it('writes bytes as base64, Dates as ISO strings', () => {
    const decoded = jsonCodec.decode(jsonCodec.encode({ data: Buffer.from('hi'), when: new Date(0) }));
    expect(decoded).toEqual({ data: 'aGk=', when: '1970-01-01T00:00:00.000Z' });
  });

  it.each([
    ['a function', () => 1, 'a function'],
    ['a function in a field', { retry: function retry() {} }, 'a function (retry)'],
    ['a function in an array', [1, Math.max], 'a function (max)'],
    ['a Symbol in a field', { s: Symbol('s') }, 'a Symbol'],
    ['a Promise in a field (a forgotten await)', { total: Promise.resolve(3) }, 'a Promise'],
    ['a WeakMap', new WeakMap(), 'a WeakMap'],
  ])('refuses %s with ERR_PHOENIX_INVALID_ARGUMENT, not dropped or null', (_what, value, what) => {
    expect(() => jsonCodec.encode(value)).toThrow(
      expect.objectContaining({
        code: 'ERR_PHOENIX_INVALID_ARGUMENT',
        message: expect.stringContaining(`${what} cannot be encoded`),
      }),
    );
  });

  it('refuses a BigInt and bytes that are not UTF-8 JSON', () => {
    expect(() => jsonCodec.encode({ n: 1n })).toThrow();
    expect(() => jsonCodec.decode(new Uint8Array([0xff, 0xfe]))).toThrow();
    expect(() => jsonCodec.decode(new TextEncoder().encode('{"a":'))).toThrow();
  });
});
