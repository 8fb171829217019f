import { ERROR_CODES as CATALOGUE } from '@phoenix-ipc/errors';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PhoenixError, SharedSegment } from '../src/index.js';

describe('the error catalogue, as every package exports it (docs/errors.md)', () => {
  it('exports PhoenixError and ERROR_CODES, the same as @phoenix-ipc/errors', () => {
    expect(ERROR_CODES).toBe(CATALOGUE);
    let thrown: unknown;
    try {
      SharedSegment.open('/phx-catalogue-no-such-segment');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PhoenixError);
    expect(Object.keys(ERROR_CODES)).toContain((thrown as PhoenixError).code);
  });
});
