/**
 * Errors of the native layer are PhoenixErrors from the one catalogue (in
 * @phoenix-ipc/errors): the C++ side reports only what failed
 * (`errno`, `syscall`, `path`), and native-errors.ts maps that to a code.
 * Argument checks made here in TypeScript throw the same class.
 */
import { PhoenixError, type PhoenixErrorCode } from '@phoenix-ipc/errors';

/** The codes the native layer uses (all from the one catalogue). */
export type NativeShmErrorCode = Extract<
  PhoenixErrorCode,
  | 'ERR_PHOENIX_INVALID_ARGUMENT'
  | 'ERR_PHOENIX_SEGMENT_NOT_FOUND'
  | 'ERR_PHOENIX_SEGMENT_EXISTS'
  | 'ERR_PHOENIX_BAD_SEGMENT'
  | 'ERR_PHOENIX_PERMISSION'
  | 'ERR_PHOENIX_BAD_FD'
  | 'ERR_PHOENIX_CONNECT_REFUSED'
  | 'ERR_PHOENIX_PEER_GONE'
  | 'ERR_PHOENIX_NO_SUCH_PROCESS'
  | 'ERR_PHOENIX_NO_SPACE'
  | 'ERR_PHOENIX_UNSUPPORTED_PLATFORM'
  | 'ERR_PHOENIX_SYSCALL_FAILED'
>;

export function invalidArgument(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

/** Throws ERR_PHOENIX_INVALID_ARGUMENT unless `value` is undefined or a plain object (an options bag). */
export function checkOptionsObject(value: unknown, what = 'options'): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw invalidArgument(`${what} must be an object, got ${value === null ? 'null' : typeof value}`);
  }
}

/**
 * Throws ERR_PHOENIX_INVALID_ARGUMENT unless `value` is an array (spreading anything
 * else would throw an uncoded TypeError, or turn a string into a list of characters).
 */
export function checkArray(value: unknown, what: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) {
    throw invalidArgument(`${what} must be an array, got ${value === null ? 'null' : typeof value}`);
  }
}
