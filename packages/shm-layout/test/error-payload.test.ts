import { describe, expect, it } from 'vitest';
import { decodeErrorPayload, encodeErrorPayload, errorPayloadFrom, PhoenixError } from '../src/index.js';

const details = { seqId: 42, funcId: 1001 };

describe('error payloads', () => {
  it('round-trips code, message, name and stack', () => {
    const target = new Uint8Array(4096);
    const length = encodeErrorPayload(target, {
      code: 'ERR_PHOENIX_HANDLER_FAILED',
      message: 'boom',
      name: 'TypeError',
      stack: 'TypeError: boom\n    at handler',
    });
    const error = decodeErrorPayload(target.subarray(0, length), details);
    expect(error).toBeInstanceOf(PhoenixError);
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toContain('boom');
    expect(error).toMatchObject({ seqId: 42, funcId: 1001, remoteName: 'TypeError' });
    expect((error as unknown as { remoteStack: string }).remoteStack).toContain('at handler');
  });

  it('shortens a long message to fit the reply slot, keeping the code', () => {
    const target = new Uint8Array(200);
    const length = encodeErrorPayload(target, {
      code: 'ERR_PHOENIX_HANDLER_FAILED',
      message: 'x'.repeat(10_000),
      stack: 'y'.repeat(10_000),
    });
    expect(length).toBeLessThanOrEqual(200);
    expect(decodeErrorPayload(target.subarray(0, length), details).code).toBe('ERR_PHOENIX_HANDLER_FAILED');
  });

  it('still writes something valid into a tiny slot', () => {
    const target = new Uint8Array(8);
    const length = encodeErrorPayload(target, { code: 'ERR_PHOENIX_HANDLER_FAILED', message: 'long message' });
    expect(length).toBeLessThanOrEqual(8);
    expect(decodeErrorPayload(target.subarray(0, length), details)).toBeInstanceOf(PhoenixError);
  });

  it('turns garbage bytes into ERR_PHOENIX_HANDLER_FAILED, never a throw', () => {
    const garbage = new Uint8Array([0xff, 0x00, 0x7b, 0x22]);
    const error = decodeErrorPayload(garbage, details);
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toMatch(/not valid JSON/);
  });

  it('does not let a peer invent an error code', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ code: 'ERR_MADE_UP', message: 7 }));
    const error = decodeErrorPayload(bytes, details);
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toBe('the handler failed');
  });

  it('keeps a known framework code a worker sent', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ code: 'ERR_PHOENIX_NO_HANDLER', message: 'no 1234' }));
    expect(decodeErrorPayload(bytes, details).code).toBe('ERR_PHOENIX_NO_HANDLER');
  });
});

describe('a PhoenixError a handler threw keeps its code and fields', () => {
  function roundTrip(thrown: unknown, room = 4096): PhoenixError {
    const target = new Uint8Array(room);
    const length = encodeErrorPayload(target, errorPayloadFrom(thrown));
    return decodeErrorPayload(target.subarray(0, length), details);
  }

  it('its own fields, set in the constructor or afterwards, arrive as JSON values', () => {
    const thrown = new PhoenixError('ERR_PHOENIX_UNAVAILABLE', 'upstream down', { workerIndex: 3, hops: 2 } as object);
    Object.assign(thrown, { retryAfterMs: 50, upstream: { name: 'db', at: new Date(0) }, big: 10n });
    const error = roundTrip(thrown);
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_UNAVAILABLE', message: 'upstream down', workerIndex: 3 });
    expect(error).toMatchObject({
      hops: 2,
      retryAfterMs: 50,
      upstream: { name: 'db', at: '1970-01-01T00:00:00.000Z' },
    });
    expect((error as unknown as { big: unknown }).big).toBe('10');
  });

  it('never fields that would shadow a member, nor ones the caller sets, nor functions', () => {
    const thrown = new PhoenixError('ERR_PHOENIX_TIMEOUT', 'late');
    Object.assign(thrown, { toString: 5, constructor: 1, seqId: 7, funcId: 9, call: () => 1 });
    const error = roundTrip(thrown);
    expect(String(error)).toContain('late');
    expect(error).toMatchObject({ seqId: 42, funcId: 1001 });
    expect(Object.hasOwn(error, 'call')).toBe(false);
    expect(Object.hasOwn(error, 'constructor')).toBe(false);
  });

  it("keeps typed facts out of a peer's fields: a forged workerIndex is dropped, __proto__ stays data", () => {
    const bytes = new TextEncoder().encode(
      '{"code":"ERR_PHOENIX_TIMEOUT","message":"x","details":{"fields":{"workerIndex":"zero","__proto__":{"polluted":1},"ok":true}}}',
    );
    const error = decodeErrorPayload(bytes, details) as unknown as Record<string, unknown>;
    expect(error.workerIndex).toBeUndefined();
    expect(error.ok).toBe(true);
    expect(error.polluted).toBeUndefined();
    expect(Object.getPrototypeOf(error)).toBe(PhoenixError.prototype);
  });

  it('drops its fields before its code when the reply room is small', () => {
    const thrown = Object.assign(new PhoenixError('ERR_PHOENIX_UNAVAILABLE', 'down'), { blob: 'x'.repeat(10_000) });
    const error = roundTrip(thrown, 300);
    expect(error.code).toBe('ERR_PHOENIX_UNAVAILABLE');
    expect((error as unknown as { blob?: string }).blob).toBeUndefined();
  });
});

describe('errorPayloadFrom: anything a handler threw', () => {
  const trap = () => {
    throw new Error('a trap threw');
  };

  it.each([
    ['a null-prototype object', Object.create(null)],
    ['a proxy whose traps throw', new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, has: trap })],
    ['an object whose toString throws', { toString: trap }],
    ['an Error with a throwing message getter', Object.defineProperty(new Error('x'), 'message', { get: trap })],
  ])('describes %s without throwing: ERR_PHOENIX_HANDLER_FAILED', (_what, thrown) => {
    const payload = errorPayloadFrom(thrown);
    expect(payload.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(typeof payload.message).toBe('string');
  });

  it('names a thrown function instead of quoting its source', () => {
    function secretSauce() {
      return 'the recipe';
    }
    const payload = errorPayloadFrom(secretSauce);
    expect(payload.message).toBe('a function (secretSauce) was thrown');
  });
});
