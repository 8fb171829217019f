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

describe('a failure reply from anyone: only safe, well-typed facts', () => {
  const encode = (document: unknown) => new TextEncoder().encode(JSON.stringify(document));

  it('drops every field named like a member of Error.prototype or Object.prototype, at any depth', () => {
    const shadowing = [
      'toString',
      'valueOf',
      'toJSON',
      'hasOwnProperty',
      'isPrototypeOf',
      'propertyIsEnumerable',
      'toLocaleString',
      'constructor',
      '__defineGetter__',
      '__defineSetter__',
      '__lookupGetter__',
      '__lookupSetter__',
    ];
    const fields: Record<string, unknown> = Object.fromEntries(shadowing.map((key) => [key, 5]));
    fields.nested = { toString: 5, ok: [{ valueOf: 1, kept: true }] };
    const body = `{"code":"ERR_PHOENIX_HANDLER_FAILED","message":"m","fields":${JSON.stringify(fields).slice(0, -1)},"__proto__":{"polluted":1}},"bytes":{"toString":"AAAA","valueOf":"AAAA"}}`;
    const back = decodeError(new TextEncoder().encode(body), 'ERR_PHOENIX_HANDLER_FAILED', context);
    expect(String(back)).toBe('PhoenixError: m');
    expect(`${back.message}`).toBe('m');
    expect(JSON.stringify(back)).toBeDefined();
    for (const key of [...shadowing, '__proto__']) expect(Object.hasOwn(back, key)).toBe(false);
    const nested = (back as unknown as Record<string, unknown>).nested as Record<string, unknown>;
    expect(nested).toEqual({ ok: [{ kept: true }] });
    expect(String(nested)).toBe('[object Object]');
    expect(Object.getPrototypeOf(back)).toBe(PhoenixError.prototype);
  });

  it('keeps the facts PhoenixError declares only with their declared types', () => {
    const wrong = {
      seqId: 'str',
      funcId: { a: 1 },
      pid: 'x',
      workerIndex: 1.5,
      exitCode: '1',
      attempt: -0.5,
      group: 'other',
      reason: 5,
      signal: 9,
      errno: 'ENOENT',
      syscall: 1,
      path: [],
      remoteName: {},
      remoteStack: 1,
      bytesNeeded: '1',
      bytesAvailable: 2 ** 60,
      remote: { name: 1, message: 'm' },
      remoteData: 'not bytes',
      issues: [{ message: 5 }],
    };
    const back = decodeError(
      encode({ code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'm', fields: wrong, bytes: { pid: 'AAAA' } }),
      'ERR_PHOENIX_WORKER_CRASHED',
      context,
    );
    expect({ ...back }).toEqual({ name: 'PhoenixError', code: 'ERR_PHOENIX_WORKER_CRASHED', funcId: 1001 }); // the call's

    const right = {
      seqId: 7,
      funcId: 4242,
      pid: null,
      workerIndex: 0,
      exitCode: null,
      attempt: 1,
      group: 'vip',
      reason: 'hang',
      signal: 'SIGKILL',
      errno: -2,
      syscall: 'open',
      path: '/dev/shm/x',
      remoteName: 'RangeError',
      remoteStack: 'at x',
      bytesNeeded: 10,
      bytesAvailable: 0,
      remote: { name: 'RangeError', message: 'm', extra: [1], toString: 5 },
      issues: [{ message: 'too small', path: ['a', 0] }],
    };
    const kept = decodeError(
      encode({ code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'm', fields: right, bytes: { remoteData: 'AQI=' } }),
      'ERR_PHOENIX_WORKER_CRASHED',
      context,
    );
    const { remote, ...plain } = right;
    expect(kept).toMatchObject(plain);
    expect(kept.remote).toEqual({ name: 'RangeError', message: 'm', extra: [1] });
    expect([...(kept.remoteData as Buffer)]).toEqual([1, 2]);
  });

  it('drops a fact nested deeper than any of ours', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    const back = decodeError(
      encode({ code: 'ERR_PHOENIX_HANDLER_FAILED', message: 'm', fields: { deep, shallow: [1] } }),
      'ERR_PHOENIX_HANDLER_FAILED',
      context,
    ) as unknown as Record<string, unknown>;
    expect(back.deep).toBeUndefined();
    expect(back.shallow).toEqual([1]);
  });
});
