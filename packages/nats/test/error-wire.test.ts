import { PhoenixError } from '@phoenix-ipc/client';
import { describe, expect, it } from 'vitest';
import { decodeError, encodeError, errorDocument, MIN_ERROR_BODY_BYTES, truncateUtf8 } from '../src/error-wire.js';

const context = { funcId: 1001 };
const text = new TextDecoder();

describe('a PhoenixError across the wire', () => {
  it('keeps code, message and every own enumerable field', () => {
    const error = new PhoenixError('ERR_PHOENIX_WORKER_CRASHED', 'worker normal#1 died', {
      group: 'normal',
      workerIndex: 1,
      pid: 4242,
      signal: 'SIGKILL',
      reason: 'exit',
      exitCode: null,
      seqId: 9,
      attempt: 1,
      funcId: 1001,
    });
    const back = decodeError(encodeError(error, 1 << 20), error.code, context);
    expect(PhoenixError.isInstance(back)).toBe(true);
    expect(back.code).toBe(error.code);
    expect(back.message).toBe(error.message);
    expect({ ...back }).toEqual({ ...error });
  });

  it('relays fields it does not know, and Uint8Array fields as Buffers', () => {
    const bytes = new Uint8Array([9, 8, 7, 0, 255]).subarray(1, 4);
    const error = new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', 'bad value', {
      remoteData: bytes,
      issues: [{ path: ['a', 0], message: 'too small' }],
    } as never);
    const back = decodeError(encodeError(error, 1 << 20), error.code, context) as unknown as Record<string, unknown>;
    expect(back.issues).toEqual([{ path: ['a', 0], message: 'too small' }]);
    expect(Buffer.isBuffer(back.remoteData)).toBe(true);
    expect([...(back.remoteData as Buffer)]).toEqual([8, 7, 0]);
  });

  it('leaves out what JSON cannot carry, and never the stack or cause of the bridge', () => {
    const error = new PhoenixError('ERR_PHOENIX_TIMEOUT', 'late', { cause: new Error('inner'), funcId: 1001 });
    (error as unknown as Record<string, unknown>).big = 10n;
    const document = errorDocument(error);
    expect(Object.keys(document.fields)).toEqual(['funcId']);
    expect(JSON.stringify(document)).not.toContain('inner');
  });

  it('never lets foreign JSON set the prototype or the code', () => {
    const body = new TextEncoder().encode(
      '{"code":"ERR_PHOENIX_TIMEOUT","message":"m","fields":{"__proto__":{"polluted":true},"code":"ERR_PHOENIX_BUSY","name":"X","stack":"s","pid":1},"bytes":{"__proto__":"AAAA"}}',
    );
    const back = decodeError(body, 'ERR_PHOENIX_TIMEOUT', context);
    expect(back.code).toBe('ERR_PHOENIX_TIMEOUT');
    expect(back.name).toBe('PhoenixError');
    expect(Object.getPrototypeOf(back)).toBe(PhoenixError.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(back.pid).toBe(1);
  });

  it('an unknown code (a newer bridge) becomes HANDLER_FAILED with remoteCode', () => {
    const body = new TextEncoder().encode('{"code":"ERR_PHOENIX_FROM_THE_FUTURE","message":"new","fields":{}}');
    const back = decodeError(body, 'ERR_PHOENIX_FROM_THE_FUTURE', context) as PhoenixError & { remoteCode?: string };
    expect(back.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(back.remoteCode).toBe('ERR_PHOENIX_FROM_THE_FUTURE');
    expect(back.message).toBe('new');
  });

  it('a body that is not a document keeps the header code and says so', () => {
    const back = decodeError(new TextEncoder().encode('not json'), 'ERR_PHOENIX_QUEUE_FULL', context);
    expect(back.code).toBe('ERR_PHOENIX_QUEUE_FULL');
    expect(back.message).toContain('not a valid error document');
    expect(back.funcId).toBe(1001);
  });

  it('shortens a document that does not fit, keeping code and message', () => {
    const error = new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', 'boom', { remoteStack: 'x'.repeat(100_000) });
    const body = encodeError(error, 4096);
    expect(body.length).toBeLessThanOrEqual(4096);
    const back = decodeError(body, error.code, context);
    expect(back.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(back.message).toBe('boom');
    expect(text.decode(body)).toContain('boom');
  });

  it.each([
    ['three-byte characters', '€'.repeat(100_000)],
    ['surrogate pairs', '😀'.repeat(100_000)],
    ['characters JSON escapes', '\u0001'.repeat(100_000)],
    ['lone surrogates', '\ud800'.repeat(100_000)],
  ])('never goes over the room it is given, even with a message of %s', (_what, message) => {
    const error = new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', message, { remoteStack: message });
    for (const room of [MIN_ERROR_BODY_BYTES, 1000, 4096, 65_536]) {
      const body = encodeError(error, room);
      expect(body.length).toBeLessThanOrEqual(room);
      const back = decodeError(body, error.code, context);
      expect(back.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
      expect(message.startsWith(back.message.replace(/…$/, ''))).toBe(true);
    }
  });
});

describe('truncateUtf8', () => {
  it('keeps text that fits', () => {
    expect(truncateUtf8('héllo', 6)).toBe('héllo');
  });

  it('cuts at a character boundary, never inside a surrogate pair, and marks the cut', () => {
    const cut = truncateUtf8('a😀😀😀', 9);
    expect(cut).toBe('a😀…');
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(9);
  });

  it('counts bytes, not characters', () => {
    const cut = truncateUtf8('€'.repeat(1000), 1024);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(1024);
    expect(cut.length).toBe(340 + 1);
  });
});
