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

  it('keeps shared and cyclic references', () => {
    const shared = { id: 1 };
    const value: { a: object; b: object; self?: unknown } = { a: shared, b: shared };
    value.self = value;
    const decoded = roundTrip(value) as typeof value;
    expect(decoded.a).toBe(decoded.b);
    expect(decoded.self).toBe(decoded);
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
    const kept = Array.from({ length: 2000 }, (_, i) => ({ value: { i, pad: 'p'.repeat(i % 50) } }));
    const encoded = kept.map(({ value }) => {
      const bytes = msgpackCodec.encode(value);
      if (value.i % 7 === 0) msgpackCodec.encodeInto!({ other: value.i }, new Uint8Array(4096));
      return bytes;
    });
    expect(encoded.map((bytes) => msgpackCodec.decode(bytes))).toStrictEqual(kept.map(({ value }) => value));
  });

  it('encodes into a target it is given, or elsewhere when the value does not fit there', () => {
    const target = new Uint8Array(new ArrayBuffer(64 * 1024), 512, 32 * 1024);
    const small = msgpackCodec.encodeInto!({ a: 1, data: new Uint8Array(100) }, target);
    expect(small.buffer).toBe(target.buffer);
    expect(small.byteOffset).toBe(target.byteOffset);
    expect(msgpackCodec.decode(small)).toStrictEqual({ a: 1, data: new Uint8Array(100) });
    const large = msgpackCodec.encodeInto!({ data: new Uint8Array(40 * 1024) }, target);
    expect(large.buffer).not.toBe(target.buffer);
    expect((msgpackCodec.decode(large) as { data: Uint8Array }).data.length).toBe(40 * 1024);
  });

  it('throws on bytes that are not msgpack', () => {
    for (const garbage of [[0xc1], [0x92, 0x01], [0x68, 0x65, 0x6c, 0x6c, 0x6f], [0xc7, 0x05, 0x74, 0x01]]) {
      expect(() => msgpackCodec.decode(new Uint8Array(garbage)), garbage.join(',')).toThrow();
    }
  });
});

describe('the JSON codec', () => {
  it('round-trips JSON values', () => {
    const value = { a: [1, 'x', null, false, { b: 2.5 }], c: 'ünïcödé' };
    expect(jsonCodec.decode(jsonCodec.encode(value))).toStrictEqual(value);
  });

  it('writes bytes as base64, Dates as ISO strings', () => {
    const decoded = jsonCodec.decode(jsonCodec.encode({ data: Buffer.from('hi'), when: new Date(0) }));
    expect(decoded).toEqual({ data: 'aGk=', when: '1970-01-01T00:00:00.000Z' });
  });

  it('refuses a BigInt and bytes that are not UTF-8 JSON', () => {
    expect(() => jsonCodec.encode({ n: 1n })).toThrow();
    expect(() => jsonCodec.decode(new Uint8Array([0xff, 0xfe]))).toThrow();
    expect(() => jsonCodec.decode(new TextEncoder().encode('{"a":'))).toThrow();
  });
});
