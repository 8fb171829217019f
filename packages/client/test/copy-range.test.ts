import { describe, expect, it } from 'vitest';
import { copyRange, SMALL_COPY_BYTES } from '../src/copy-range.js';

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
