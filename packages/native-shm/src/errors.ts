/**
 * Errors thrown by the native layer. The `code` is stable; the message may change.
 * The `Symbol.for('phoenix-ipc.error')` brand lets `PhoenixError.isInstance` (and
 * `instanceof PhoenixError`) in the higher packages recognise these errors too,
 * even across two copies of the packages.
 */
export const PHOENIX_ERROR_BRAND: unique symbol = Symbol.for('phoenix-ipc.error') as never;

export type NativeShmErrorCode =
  | 'ERR_PHOENIX_INVALID_ARGUMENT'
  | 'ERR_PHOENIX_SEGMENT_NOT_FOUND'
  | 'ERR_PHOENIX_SEGMENT_EXISTS'
  | 'ERR_PHOENIX_PERMISSION'
  | 'ERR_PHOENIX_BAD_FD'
  | 'ERR_PHOENIX_CONNECT_REFUSED'
  | 'ERR_PHOENIX_PEER_GONE'
  | 'ERR_PHOENIX_NO_SUCH_PROCESS'
  | 'ERR_PHOENIX_UNSUPPORTED_PLATFORM'
  | 'ERR_PHOENIX_SYSCALL_FAILED';

export class NativeShmError extends Error {
  readonly code: NativeShmErrorCode;
  errno?: number;
  syscall?: string;
  path?: string;

  constructor(code: NativeShmErrorCode, message: string) {
    super(message);
    this.name = 'NativeShmError';
    this.code = code;
    Object.defineProperty(this, PHOENIX_ERROR_BRAND, { value: true });
  }
}

export function invalidArgument(message: string): NativeShmError {
  return new NativeShmError('ERR_PHOENIX_INVALID_ARGUMENT', message);
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
