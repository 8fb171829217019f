import {
  decodeErrorPayload,
  describeThrown,
  encodeErrorPayload,
  errorPayloadFrom,
  toJsonSafe,
} from '@phoenix-ipc/shm-layout';
import { describe, expect, it } from 'vitest';
import { PhoenixError } from '../src/index.js';

const call = { seqId: 42, funcId: 1001 };
const encoder = new TextEncoder();

function roundTrip(thrown: unknown, room = 64 * 1024): PhoenixError {
  const target = new Uint8Array(room);
  const length = encodeErrorPayload(target, errorPayloadFrom(thrown));
  return decodeErrorPayload(target.subarray(0, length), call);
}

function bytesOf(document: unknown, tail?: Uint8Array): Uint8Array {
  const text = encoder.encode(JSON.stringify(document));
  if (tail === undefined) return text;
  const bytes = new Uint8Array(text.length + 1 + tail.length);
  bytes.set(text);
  bytes.set(tail, text.length + 1);
  return bytes;
}

describe('a thrown PhoenixError in a failure reply', () => {
  it('keeps its code and its facts', () => {
    const thrown = new PhoenixError('ERR_PHOENIX_WORKER_CRASHED', 'the worker died', {
      group: 'vip',
      workerIndex: 2,
      pid: 1234,
      signal: 'SIGKILL',
      exitCode: null,
      reason: 'hang',
      attempt: 3,
    });
    const error = roundTrip(thrown);
    expect(error.code).toBe('ERR_PHOENIX_WORKER_CRASHED');
    expect(error.message).toBe('the worker died');
    expect(error).toMatchObject({
      group: 'vip',
      workerIndex: 2,
      pid: 1234,
      signal: 'SIGKILL',
      exitCode: null,
      reason: 'hang',
      attempt: 3,
    });
  });

  it("takes the call's own seq id and func id, not those of the error it relays", () => {
    const error = roundTrip(
      new PhoenixError('ERR_PHOENIX_TIMEOUT', 'inner call timed out', { seqId: 7, funcId: 2002 }),
    );
    expect(error.code).toBe('ERR_PHOENIX_TIMEOUT');
    expect(error).toMatchObject({ seqId: 42, funcId: 1001 });
  });

  it('carries its syscall facts, sizes, validation issues and remote description', () => {
    const error = roundTrip(
      new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', 'bad input', {
        errno: 2,
        syscall: 'open',
        path: '/x',
        bytesNeeded: 4096,
        bytesAvailable: 1024,
        issues: [{ message: 'Required', path: ['data', 0] }],
        remote: { name: 'TypeError', message: 'nested', code: 'E_NESTED' },
      }),
    );
    expect(error).toMatchObject({
      errno: 2,
      syscall: 'open',
      path: '/x',
      bytesNeeded: 4096,
      bytesAvailable: 1024,
      issues: [{ message: 'Required', path: ['data', 0] }],
      remote: { name: 'TypeError', message: 'nested', code: 'E_NESTED' },
    });
  });

  it('carries byte facts as bytes after the document, and hands the caller its own copy', () => {
    const remoteData = new Uint8Array([0, 1, 2, 0, 255]);
    const target = new Uint8Array(4096);
    const length = encodeErrorPayload(
      target,
      errorPayloadFrom(new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', 'boom', { remoteData })),
    );
    const error = decodeErrorPayload(target.subarray(0, length), call);
    expect(error.remoteData).toEqual(remoteData);
    target.fill(9);
    expect(error.remoteData).toEqual(remoteData);
  });

  it('keeps the remote name and stack of an error it relays', () => {
    const relayed = new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', 'deep', {
      remoteName: 'RangeError',
      remoteStack: 'RangeError: deep\n    at far away',
    });
    expect(roundTrip(relayed)).toMatchObject({
      remoteName: 'RangeError',
      remoteStack: 'RangeError: deep\n    at far away',
    });
  });
});

describe('any other thrown value in a failure reply', () => {
  it('is ERR_PHOENIX_HANDLER_FAILED with its message, name, stack and a JSON-safe description', () => {
    const thrown = Object.assign(new RangeError('too wide'), {
      code: 'E_WIDE',
      limit: 10,
      at: new Date(0),
      big: 12n,
      bytes: new Uint8Array(3),
      seen: new Set(['a']),
    });
    const error = roundTrip(thrown);
    expect(error.code).toBe('ERR_PHOENIX_HANDLER_FAILED');
    expect(error.message).toBe('too wide');
    expect(error.remoteName).toBe('RangeError');
    expect(error.remoteStack).toContain('too wide');
    expect(error.remote).toEqual({
      name: 'RangeError',
      message: 'too wide',
      code: 'E_WIDE',
      limit: 10,
      at: '1970-01-01T00:00:00.000Z',
      big: '12',
      seen: ['a'],
    });
  });

  it('describes a thrown string', () => {
    expect(describeThrown('plain words')).toEqual({ name: 'Error', message: 'plain words' });
    expect(roundTrip('plain words')).toMatchObject({ code: 'ERR_PHOENIX_HANDLER_FAILED', message: 'plain words' });
  });

  it('survives a description with a cycle', () => {
    const thrown: Error & { self?: unknown } = new Error('loop');
    thrown.self = thrown;
    expect(toJsonSafe(thrown)).toBeUndefined();
    expect(roundTrip(thrown).remote).toEqual({ name: 'Error', message: 'loop' });
  });
});

describe('a failure reply that does not fit', () => {
  it('gives up the stack, then the bytes, then the description, and keeps the code and message', () => {
    const thrown = new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', 'short message', {
      remote: { name: 'Error', message: 'x'.repeat(400) },
      remoteData: new Uint8Array(400),
    });
    thrown.stack = 'y'.repeat(400);
    const error = roundTrip(thrown, 300);
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_HANDLER_FAILED', message: 'short message' });
    expect(error.remoteStack).toBeUndefined();
    expect(error.remoteData).toBeUndefined();
    expect(error.remote).toBeUndefined();
  });
});

describe('decoding never trusts the bytes', () => {
  it('drops facts of the wrong type and facts it does not know', () => {
    const error = decodeErrorPayload(
      bytesOf({
        code: 'ERR_PHOENIX_WORKER_CRASHED',
        message: 'm',
        details: {
          group: 'elite',
          workerIndex: 1.5,
          pid: '12',
          signal: 9,
          reason: 'bored',
          remote: { name: 5, message: 'x' },
          issues: [{ message: 3 }],
          seqId: 99,
          constructor: 'evil',
          isInstance: true,
        },
      }),
      call,
    );
    const facts = error as unknown as Record<string, unknown>;
    for (const key of ['group', 'workerIndex', 'pid', 'signal', 'reason', 'remote', 'issues', 'isInstance']) {
      expect(facts[key], key).toBeUndefined();
    }
    expect(error.seqId).toBe(42);
    expect(PhoenixError.isInstance(error)).toBe(true);
  });

  it('ignores byte fields whose lengths do not add up, or that it does not know', () => {
    const tooLong = decodeErrorPayload(
      bytesOf({ code: 'ERR_PHOENIX_HANDLER_FAILED', message: 'm', bytes: { remoteData: 50 } }, new Uint8Array(4)),
      call,
    );
    expect(tooLong.remoteData).toBeUndefined();
    const unknown = decodeErrorPayload(
      bytesOf(
        { code: 'ERR_PHOENIX_HANDLER_FAILED', message: 'm', bytes: { secret: 2, remoteData: 2 } },
        new Uint8Array([1, 2, 3, 4]),
      ),
      call,
    );
    expect((unknown as unknown as Record<string, unknown>).secret).toBeUndefined();
    expect(unknown.remoteData).toEqual(new Uint8Array([3, 4]));
    const negative = decodeErrorPayload(
      bytesOf({ code: 'ERR_PHOENIX_HANDLER_FAILED', message: 'm', bytes: { remoteData: -1 } }, new Uint8Array(4)),
      call,
    );
    expect(negative.remoteData).toBeUndefined();
  });

  it('reads a document without details like before', () => {
    const error = decodeErrorPayload(
      bytesOf({ code: 'ERR_PHOENIX_NO_HANDLER', message: 'no 1234', details: 'x' }),
      call,
    );
    expect(error).toMatchObject({ code: 'ERR_PHOENIX_NO_HANDLER', message: 'no 1234', seqId: 42, funcId: 1001 });
  });
});
