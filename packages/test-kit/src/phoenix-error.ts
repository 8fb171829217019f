import { PhoenixError, type PhoenixErrorCode } from '@phoenix-ipc/errors';
import { expect } from 'vitest';

/**
 * Runs `fn`, expects it to throw a PhoenixError (by its brand, so a copy from
 * any package or the native layer counts) with `code` and, if given, a message
 * matching `pattern`; returns the error for further checks.
 */
export function expectPhoenixError(fn: () => unknown, code: PhoenixErrorCode, pattern?: RegExp): PhoenixError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a PhoenixError ${code} to be thrown`).toBeDefined();
  expect(PhoenixError.isInstance(caught), `expected a PhoenixError, got ${String(caught)}`).toBe(true);
  const error = caught as PhoenixError;
  expect(error.code, error.message).toBe(code);
  expect(error.name).toBe('PhoenixError');
  if (pattern) expect(error.message).toMatch(pattern);
  return error;
}

/**
 * The PhoenixError a call (or any promise) fails with. Fails the test if the
 * promise resolves or rejects with anything else.
 */
export async function phoenixFailure(promise: Promise<unknown>): Promise<PhoenixError> {
  const outcome = await promise.then(
    (value: unknown) => new Error(`expected the call to fail, it resolved with ${String(value)}`),
    (error: unknown) => error,
  );
  expect(PhoenixError.isInstance(outcome), String(outcome)).toBe(true);
  return outcome as PhoenixError;
}
