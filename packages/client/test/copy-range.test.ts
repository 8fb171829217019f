import { describe, expect, it } from 'vitest';
import { copyFromSegment, copyRange, SMALL_COPY_BYTES, writeSmallToSegment } from '../src/copy-range.js';
import { markedBytes, segmentViews } from './segment-views.js';

describe('copyRange', () => {
  it.each([0, 1, SMALL_COPY_BYTES, SMALL_COPY_BYTES + 1, 4096])(
    'copies %i bytes from an offset of the source to an offset of the target, and nothing around them',
    (length) => {
      const source = Uint8Array.from({ length: length + 10 }, (_, i) => (i * 7 + 1) & 0xff);
      const target = new Uint8Array(length + 8).fill(0xee);
      copyRange(target, 3, source, 5, length);
      expect([...target.subarray(3, 3 + length)]).toEqual([...source.subarray(5, 5 + length)]);
      expect([...target.subarray(0, 3), ...target.subarray(3 + length)]).toEqual(Array(8).fill(0xee));
    },
  );
});

describe('writeSmallToSegment', () => {
  it.each([0, 1, 3, 4, 5, 15, 16, 17, 63, SMALL_COPY_BYTES])(
    'writes %i bytes at a word-aligned offset, and nothing around them',
    (length) => {
      const { bytes, words } = segmentViews(256);
      const source = markedBytes(length);
      writeSmallToSegment(words, bytes, 40, source);
      expect([...bytes.subarray(40, 40 + length)]).toEqual([...source]);
      expect([...bytes.subarray(0, 40), ...bytes.subarray(40 + length)]).toEqual(Array(256 - length).fill(0xee));
    },
  );

  it('reads a source that is a view into a larger buffer from its own first byte', () => {
    const { bytes, words } = segmentViews(64);
    const backing = markedBytes(40);
    writeSmallToSegment(words, bytes, 8, backing.subarray(5, 21));
    expect([...bytes.subarray(8, 24)]).toEqual([...backing.subarray(5, 21)]);
  });
});

describe('copyFromSegment', () => {
  it.each([0, 1, 3, 4, 5, 15, 16, 17, 63, SMALL_COPY_BYTES, SMALL_COPY_BYTES + 1, 200])(
    'copies %i bytes from a word-aligned offset into the start of a longer target, and nothing around them',
    (length) => {
      const { bytes, words } = segmentViews(512);
      bytes.set(markedBytes(512));
      const around = new Uint8Array(length + 12).fill(0xee);
      const target = around.subarray(4, length + 8);
      copyFromSegment(target, words, bytes, 40, length);
      expect([...target.subarray(0, length)]).toEqual([...bytes.subarray(40, 40 + length)]);
      expect([...around.subarray(0, 4), ...around.subarray(4 + length)]).toEqual(Array(12).fill(0xee));
    },
  );

  it.each([1, 2, 3])('copies a small payload from an offset %i past a word', (misalignment) => {
    const { bytes, words } = segmentViews(128);
    bytes.set(markedBytes(128));
    const target = new Uint8Array(16);
    copyFromSegment(target, words, bytes, 40 + misalignment, 16);
    expect([...target]).toEqual([...bytes.subarray(40 + misalignment, 56 + misalignment)]);
  });
});
