import { describe, expect, it } from 'vitest';
import { writePayload } from '../src/call-options.js';
import { SMALL_COPY_BYTES } from '../src/copy-range.js';
import { type CallOptions, PhoenixError, Priority } from '../src/index.js';
import {
  checkFuncId,
  checkTimeout,
  contiguousPayload,
  DefaultCallOptions,
  payloadLength,
  resolveCallOptions,
  toPayload,
} from '../src/internal.js';
import { markedBytes, segmentViews } from './segment-views.js';

const defaults = { timeoutMs: 5000, onQueueFull: 'wait' as const };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PhoenixError);
    return (error as PhoenixError).code;
  }
  return undefined;
}

describe('checkFuncId', () => {
  it('accepts application ids from 1001 to 2^32-1', () => {
    expect(checkFuncId(1001)).toBe(1001);
    expect(checkFuncId(0xffff_ffff)).toBe(0xffff_ffff);
  });

  it('rejects the reserved ids 0..1000 and says they are reserved', () => {
    for (const id of [1, 500, 1000]) {
      expect(() => checkFuncId(id)).toThrow(/reserved/);
      expect(codeOf(() => checkFuncId(id))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    }
    expect(codeOf(() => checkFuncId(0))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('rejects non-integers, negatives, ids beyond u32 and non-numbers', () => {
    for (const id of [1001.5, -1, 2 ** 32, Number.NaN, '1001', null, undefined, 1001n]) {
      expect(codeOf(() => checkFuncId(id))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    }
  });
});

describe('checkTimeout', () => {
  it('maps Infinity to 0 (no timeout)', () => {
    expect(checkTimeout(Number.POSITIVE_INFINITY, 'timeoutMs')).toBe(0);
  });

  it('rejects zero, negatives, NaN and values a timer cannot hold', () => {
    for (const value of [0, -5, Number.NaN, 2 ** 31, '10']) {
      expect(codeOf(() => checkTimeout(value, 'timeoutMs'))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    }
  });

  it('rejects a bigint with ERR_PHOENIX_INVALID_ARGUMENT showing it as written, not a TypeError from JSON', () => {
    expect(() => checkTimeout(5n, 'timeoutMs')).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT', message: expect.stringContaining('got 5n') }),
    );
  });
});

describe('resolveCallOptions', () => {
  it('takes the positional form (priority, timeoutMs)', () => {
    expect(resolveCallOptions(Priority.High, 250, defaults)).toEqual({
      priority: Priority.High,
      timeoutMs: 250,
      signal: undefined,
      onQueueFull: 'wait',
    });
  });

  it('takes the options-object form with a signal and a queue-full policy', () => {
    const controller = new AbortController();
    const resolved = resolveCallOptions(
      { priority: Priority.Normal, timeoutMs: 10, signal: controller.signal, onQueueFull: 'reject' },
      undefined,
      defaults,
    );
    expect(resolved).toEqual({ priority: 0, timeoutMs: 10, signal: controller.signal, onQueueFull: 'reject' });
  });

  it('fills in the defaults for what is not given', () => {
    expect(resolveCallOptions(undefined, undefined, defaults)).toEqual({
      priority: Priority.Normal,
      timeoutMs: 5000,
      signal: undefined,
      onQueueFull: 'wait',
    });
    expect(resolveCallOptions({}, undefined, defaults).timeoutMs).toBe(5000);
  });

  it('rejects an unknown priority, a non-AbortSignal signal and a bad policy', () => {
    expect(codeOf(() => resolveCallOptions(7 as Priority, undefined, defaults))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(codeOf(() => resolveCallOptions({ signal: {} as AbortSignal }, undefined, defaults))).toBe(
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
    expect(codeOf(() => resolveCallOptions({ onQueueFull: 'drop' as 'wait' }, undefined, defaults))).toBe(
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
  });

  it('refuses a misspelt option, naming it and the options there are', () => {
    const misspelt = { timeout: 50 } as CallOptions;
    expect(codeOf(() => resolveCallOptions(misspelt, undefined, defaults))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(() => resolveCallOptions(misspelt, undefined, defaults)).toThrow(
      'unknown call option timeout (50); the options are priority, timeoutMs, signal, onQueueFull',
    );
  });

  it('ignores an enumerable property on Object.prototype: only the own keys of the options count', () => {
    const prototype = Object.prototype as Record<string, unknown>;
    prototype.addedByALibrary = true;
    try {
      expect(resolveCallOptions({ timeoutMs: 10 }, undefined, defaults).timeoutMs).toBe(10);
    } finally {
      delete prototype.addedByALibrary;
    }
  });

  it('takes every known option together', () => {
    const signal = new AbortController().signal;
    expect(
      resolveCallOptions(
        { priority: Priority.High, timeoutMs: 10, signal, onQueueFull: 'reject' },
        undefined,
        defaults,
      ),
    ).toEqual({ priority: Priority.High, timeoutMs: 10, signal, onQueueFull: 'reject' });
  });

  it('refuses a timeout given both inside the options and as a fourth argument', () => {
    expect(codeOf(() => resolveCallOptions({}, 100, defaults))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('DefaultCallOptions', () => {
  it('shares one frozen options object per priority', () => {
    const shared = new DefaultCallOptions(1000, 'reject');
    const normal = shared.forPriority(undefined);
    expect(normal).toBe(shared.forPriority(Priority.Normal));
    expect(Object.isFrozen(normal)).toBe(true);
    expect(shared.forPriority(Priority.High)).toMatchObject({ priority: 1, timeoutMs: 1000, onQueueFull: 'reject' });
  });

  it('returns null for anything but a bare priority, so the full resolver runs', () => {
    const shared = new DefaultCallOptions(1000, 'wait');
    expect(shared.forPriority({ priority: 0 })).toBeNull();
    expect(shared.forPriority(3)).toBeNull();
  });
});

describe('toPayload', () => {
  it('passes a Uint8Array or Buffer through without copying', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(toPayload(bytes)).toBe(bytes);
    const buffer = Buffer.from('abc');
    expect(toPayload(buffer)).toBe(buffer);
  });

  it('encodes a string as UTF-8', () => {
    expect(Array.from(toPayload('hé') as Uint8Array)).toEqual([0x68, 0xc3, 0xa9]);
  });

  it('encodes lone surrogates as U+FFFD, as TextEncoder does', () => {
    const text = 'a\ud800b\udc00c😀';
    expect(Buffer.from(toPayload(text) as Uint8Array)).toEqual(Buffer.from(new TextEncoder().encode(text)));
  });

  it("encodes a short string into Node's Buffer pool, not into an ArrayBuffer of its own", () => {
    const bytes = toPayload('sixteen chars...') as Uint8Array;
    expect(bytes.length).toBe(16);
    expect(bytes.buffer.byteLength).toBeGreaterThan(16);
  });

  it('passes a list of chunks through as they are (gathered when written), one chunk as itself', () => {
    const chunks = [new Uint8Array([1]), Buffer.from([2, 3])];
    expect(toPayload(chunks)).toBe(chunks);
    expect(payloadLength(toPayload(chunks))).toBe(3);
    expect(toPayload([chunks[1]])).toBe(chunks[1]);
    expect(Array.from(contiguousPayload(chunks))).toEqual([1, 2, 3]);
  });

  it('rejects a list with anything but bytes in it, naming the chunk', () => {
    expect(() => toPayload([new Uint8Array(1), 'x'])).toThrow(/payload chunk 1 must be a Uint8Array/);
    expect(codeOf(() => toPayload([new Uint8Array(1), 'x']))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('sends one shared empty payload for every call made without one (no ArrayBuffer per call)', () => {
    expect(toPayload(undefined)).toBe(toPayload(null));
    expect(toPayload(undefined)).toBe(toPayload(undefined));
  });

  it('treats a missing payload as empty and rejects anything else', () => {
    expect(toPayload(undefined).length).toBe(0);
    expect(codeOf(() => toPayload(42))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
    expect(codeOf(() => toPayload({}))).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('writePayload', () => {
  it.each([16, SMALL_COPY_BYTES + 1, 200])(
    'writes %i bytes at a word-aligned offset of the segment, and nothing around them',
    (length) => {
      const { bytes, words } = segmentViews(512);
      const payload = markedBytes(length);
      writePayload(bytes, 40, payload, words);
      expect([...bytes.subarray(40, 40 + length)]).toEqual([...payload]);
      expect([...bytes.subarray(0, 40), ...bytes.subarray(40 + length)]).toEqual(Array(512 - length).fill(0xee));
    },
  );

  it.each([1, 2, 3])('writes a small payload byte by byte at an offset %i past a word', (misalignment) => {
    const { bytes, words } = segmentViews(128);
    const payload = markedBytes(16);
    writePayload(bytes, 40 + misalignment, payload, words);
    expect([...bytes.subarray(40 + misalignment, 56 + misalignment)]).toEqual([...payload]);
    expect(bytes[39 + misalignment]).toBe(0xee);
    expect(bytes[56 + misalignment]).toBe(0xee);
  });

  it('writes chunks one after another', () => {
    const { bytes, words } = segmentViews(128);
    writePayload(bytes, 8, [markedBytes(5), new Uint8Array(0), markedBytes(70)], words);
    expect([...bytes.subarray(8, 83)]).toEqual([...markedBytes(5), ...markedBytes(70)]);
    expect(bytes[83]).toBe(0xee);
  });
});
