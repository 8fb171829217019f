import { expect } from 'vitest';
import { PhoenixError, type PhoenixErrorCode } from '../src/index.js';

/** Runs `fn`, expects a PhoenixError with `code` (and a message matching `pattern`), and returns it. */
export function expectPhoenixError(fn: () => unknown, code: PhoenixErrorCode, pattern?: RegExp): PhoenixError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a PhoenixError to be thrown').toBeDefined();
  expect(PhoenixError.isInstance(caught), `expected a PhoenixError, got ${String(caught)}`).toBe(true);
  const error = caught as PhoenixError;
  expect(error.code, error.message).toBe(code);
  if (pattern) expect(error.message).toMatch(pattern);
  return error;
}

/** Reads the i32 word at byte `offset` of the monitor at `base`. */
export function wordAt(buffer: ArrayBufferLike, base: number, offset: number): number {
  return new DataView(buffer).getInt32(base + offset, true);
}

/** Writes the i32 word at byte `offset` of the monitor at `base`. */
export function setWordAt(buffer: ArrayBufferLike, base: number, offset: number, value: number): void {
  new DataView(buffer).setInt32(base + offset, value | 0, true);
}

/** mulberry32: a small seeded PRNG, so garbage tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
