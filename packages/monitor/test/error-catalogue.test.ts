import { ERROR_CODES as CATALOGUE, PhoenixError as CataloguePhoenixError } from '@phoenix-ipc/ringbuffer';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PhoenixError } from '../src/index.js';

describe('the error catalogue, as every package exports it (docs/errors.md)', () => {
  it('exports PhoenixError and ERROR_CODES, the same as the packages below', () => {
    expect(ERROR_CODES).toBe(CATALOGUE);
    expect(PhoenixError).toBe(CataloguePhoenixError);
  });
});
