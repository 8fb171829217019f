import { existsSync } from 'node:fs';
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import {
  isValidSegmentName,
  MAX_SEGMENT_NAME_BYTES,
  SharedSegment,
  segmentNameProblem,
  statSegment,
  unlinkSegment,
  validateSegmentName,
} from '../src/index.js';
import { SEGMENT_PREFIX, segmentName, track, useCleanup } from './helpers.js';

useCleanup();

const INVALID_NAMES: [string, unknown, RegExp][] = [
  ['the empty string', '', /must start with '\/'/],
  ['a name without a leading slash', 'x', /must start with '\/'/],
  ['a lone slash', '/', /at least one byte after '\/'/],
  ["a name with a second '/'", '/a/b', /must not contain '\/'/],
  ['a name with a NUL byte', '/a\0b', /must not contain NUL/],
  ['a 256-byte name', `/${'a'.repeat(255)}`, /256 bytes, at most 255/],
  ['a name of 257 UTF-8 bytes in 129 characters', `/${'é'.repeat(128)}`, /257 bytes, at most 255/],
  ["the directory '/.'", '/.', /must not be "\/\."/],
  ["the directory '/..'", '/..', /must not be "\/\.\."/],
  ['a number', 42, /must be a string, got number/],
  ['undefined', undefined, /must be a string, got undefined/],
  ['null', null, /must be a string, got object/],
];

describe('segment names', () => {
  it(`allow at most ${MAX_SEGMENT_NAME_BYTES} bytes`, () => {
    expect(MAX_SEGMENT_NAME_BYTES).toBe(255);
  });

  describe.each(INVALID_NAMES)('%s', (_label, name, reason) => {
    it('is rejected by SharedSegment.open with ERR_PHOENIX_INVALID_ARGUMENT and the reason', () => {
      expectPhoenixError(
        () => SharedSegment.open(name as string, { create: true, size: 4096 }),
        'ERR_PHOENIX_INVALID_ARGUMENT',
        reason,
      );
    });

    it('is rejected by unlinkSegment, statSegment and validateSegmentName', () => {
      expectPhoenixError(() => unlinkSegment(name as string), 'ERR_PHOENIX_INVALID_ARGUMENT', reason);
      expectPhoenixError(() => statSegment(name as string), 'ERR_PHOENIX_INVALID_ARGUMENT', reason);
      expectPhoenixError(() => validateSegmentName(name), 'ERR_PHOENIX_INVALID_ARGUMENT', reason);
    });

    it('is reported by isValidSegmentName (false) and segmentNameProblem (the reason)', () => {
      expect(isValidSegmentName(name)).toBe(false);
      expect(segmentNameProblem(name)).toMatch(reason);
    });
  });

  it('of exactly 255 bytes can be created and unlinked', () => {
    const name = segmentName(255);
    expect(Buffer.byteLength(name)).toBe(255);
    expect(name.startsWith(SEGMENT_PREFIX)).toBe(true);
    expect(isValidSegmentName(name)).toBe(true);
    const segment = track(SharedSegment.open(name, { create: true, size: 4096 }));
    expect(segment.created).toBe(true);
    expect(existsSync(`/dev/shm${name}`)).toBe(true);
    segment.close();
    expect(unlinkSegment(name)).toBe(true);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });
});

describe('SharedSegment.open options', () => {
  const BAD_OPTIONS: [string, object, RegExp][] = [
    ['a negative size', { create: true, size: -1 }, /size must be a non-negative safe integer/],
    ['a non-integer size', { create: true, size: 1.5 }, /size must be a non-negative safe integer/],
    ['a string size', { create: true, size: '4096' }, /size must be a non-negative safe integer/],
    ['an unsafe integer size', { create: true, size: 2 ** 53 }, /size must be a non-negative safe integer/],
    ['a missing size with create', { create: true }, /size is required/],
    ['a zero size with create', { create: true, size: 0 }, /size is required/],
    ['a mode above 0o777', { create: true, size: 4096, mode: 0o1000 }, /mode must be an integer within/],
    ['a negative mode', { create: true, size: 4096, mode: -1 }, /mode must be an integer within/],
    ['a non-integer mode', { create: true, size: 4096, mode: 0.5 }, /mode must be an integer within/],
    ['a string mode', { create: true, size: 4096, mode: '0600' }, /mode must be an integer within/],
    ['readOnly together with create', { create: true, size: 4096, readOnly: true }, /readOnly and create/],
    ['exclusive without create', { exclusive: true }, /exclusive requires create/],
  ];

  it.each(BAD_OPTIONS)('reject %s with ERR_PHOENIX_INVALID_ARGUMENT', (_label, options, reason) => {
    const name = segmentName();
    expectPhoenixError(() => SharedSegment.open(name, options), 'ERR_PHOENIX_INVALID_ARGUMENT', reason);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
  });

  it.each([null, 42, 'create'])('reject a non-object options argument (%s)', (options) => {
    expectPhoenixError(
      () => SharedSegment.open(segmentName(), options as never),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /options must be an object/,
    );
  });
});
