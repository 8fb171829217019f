/**
 * The one error type of PhoenixIPC. Every failure has a permanent `code`
 * (the message may change between versions, the code never does); the
 * catalogue is ERROR_CODES below and docs/errors.md (a test keeps the two in
 * step).
 *
 * It lives in the lowest package so that every layer throws the same class.
 * `PhoenixError.isInstance` (and `instanceof`) recognise errors by a
 * `Symbol.for` brand, so they work across two copies of the packages and for
 * the errors the native layer throws.
 */

/** Every code PhoenixIPC uses, with what it means. */
export const ERROR_CODES = {
  ERR_PHOENIX_INVALID_ARGUMENT: 'An argument or option is invalid (bad name, func id, size, option value).',
  ERR_PHOENIX_BAD_RING: 'A ring header or record in shared memory is inconsistent (corrupt or foreign memory).',
  ERR_PHOENIX_BAD_SEGMENT: 'A shared-memory segment is not a valid PhoenixIPC segment of this version.',
  ERR_PHOENIX_BAD_MONITOR: 'A monitor record in shared memory is inconsistent.',
  ERR_PHOENIX_PAYLOAD_TOO_LARGE: 'A request or reply payload exceeds maxPayloadBytes.',
  ERR_PHOENIX_TIMEOUT: 'The call did not complete before its deadline.',
  ERR_PHOENIX_ABORTED: 'The call was aborted through its AbortSignal.',
  ERR_PHOENIX_NO_HANDLER: 'No handler is registered for the func id.',
  ERR_PHOENIX_HANDLER_FAILED: 'The handler threw or rejected; its message travels back.',
  ERR_PHOENIX_WORKER_CRASHED: 'The worker died (or hung and was killed) while processing this request.',
  ERR_PHOENIX_WORKER_START_FAILED: 'A worker process could not be started.',
  ERR_PHOENIX_SEGMENT_EXISTS: 'A live supervisor already owns the segment name.',
  ERR_PHOENIX_SEGMENT_NOT_FOUND: 'No segment exists at the name.',
  ERR_PHOENIX_QUEUE_FULL: "The target worker's queue is full and the call asked not to wait.",
  ERR_PHOENIX_BUSY: 'Every client connection slot is taken.',
  ERR_PHOENIX_UNAVAILABLE: 'No worker can serve the call (server stopping, or every worker of the group is down).',
  ERR_PHOENIX_SERVER_GONE: 'The supervisor stopped or died; the outcome of the call is unknown.',
  ERR_PHOENIX_NOT_CONNECTED: 'The client is not connected.',
  ERR_PHOENIX_CONNECT_TIMEOUT: 'No live supervisor answered before the connect timeout.',
  ERR_PHOENIX_PERMISSION: 'The operating system refused access (permissions).',
  ERR_PHOENIX_BAD_FD: 'A file descriptor is closed or invalid.',
  ERR_PHOENIX_CONNECT_REFUSED: 'Nobody listens on the control socket.',
  ERR_PHOENIX_PEER_GONE: 'The other end of a socket has gone.',
  ERR_PHOENIX_NO_SUCH_PROCESS: 'The process does not exist.',
  ERR_PHOENIX_UNSUPPORTED_PLATFORM: 'This platform lacks POSIX shared memory or eventfd.',
  ERR_PHOENIX_SYSCALL_FAILED: 'A system call failed; see errno and syscall.',
  ERR_PHOENIX_NO_SPACE: 'The file system (/dev/shm) has no room for the segment; nothing was created.',
  ERR_PHOENIX_INVALID_STATE: 'The operation is not allowed in the current state.',
} as const;

export type PhoenixErrorCode = keyof typeof ERROR_CODES;

const BRAND: unique symbol = Symbol.for('phoenix-ipc.error') as never;

/**
 * What a handler threw, as its caller sees it: the thrown error's `name`,
 * `message`, `code` (if it had one) and its own enumerable fields. Over the
 * raw API the values are JSON values (Dates become strings, BigInts decimal
 * strings, binary fields are left out); a typed service decodes the full
 * values from `remoteData` with its codec.
 */
export interface RemoteError {
  name: string;
  message: string;
  code?: unknown;
  [field: string]: unknown;
}

/** One problem a schema found in a value (Standard Schema issues, made JSON-safe). */
export interface ValidationIssue {
  message: string;
  /** Where in the value: property names and array indexes, outermost first. */
  path?: (string | number)[];
}

/**
 * Extra facts some errors carry (crash details, syscall details, what a
 * handler threw). Every value is JSON-safe or a Uint8Array, so that the
 * facts can travel with the error: from a worker to its caller, and across
 * hosts.
 */
export interface PhoenixErrorDetails {
  cause?: unknown;
  group?: 'normal' | 'vip';
  workerIndex?: number;
  pid?: number | null;
  signal?: string | null;
  exitCode?: number | null;
  reason?: 'exit' | 'hang' | 'corrupt';
  seqId?: number;
  attempt?: number;
  funcId?: number;
  errno?: number;
  syscall?: string;
  path?: string;
  remoteName?: string;
  remoteStack?: string;
  /** ERR_PHOENIX_NO_SPACE: what the segment needs and what /dev/shm has free. */
  bytesNeeded?: number;
  bytesAvailable?: number;
  /** ERR_PHOENIX_HANDLER_FAILED: what the handler threw (name, message, code, own fields). */
  remote?: RemoteError;
  /** The same description encoded by a typed service's codec (full fidelity: Dates, Maps, BigInts...). */
  remoteData?: Uint8Array;
  /** ERR_PHOENIX_INVALID_ARGUMENT from a schema: the problems it found. */
  issues?: ValidationIssue[];
}

export class PhoenixError extends Error {
  readonly code: PhoenixErrorCode;
  // Only the facts an error has become own properties (declare: no field initialisers).
  declare group?: 'normal' | 'vip';
  declare workerIndex?: number;
  declare pid?: number | null;
  declare signal?: string | null;
  declare exitCode?: number | null;
  declare reason?: 'exit' | 'hang' | 'corrupt';
  declare seqId?: number;
  declare attempt?: number;
  declare funcId?: number;
  declare errno?: number;
  declare syscall?: string;
  declare path?: string;
  declare remoteName?: string;
  declare remoteStack?: string;
  declare bytesNeeded?: number;
  declare bytesAvailable?: number;
  declare remote?: RemoteError;
  declare remoteData?: Uint8Array;
  declare issues?: ValidationIssue[];

  constructor(code: PhoenixErrorCode, message: string, details: PhoenixErrorDetails = {}) {
    const { cause, ...facts } = details;
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PhoenixError';
    this.code = code;
    for (const [key, value] of Object.entries(facts)) {
      if (value !== undefined) (this as Record<string, unknown>)[key] = value;
    }
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** True for any PhoenixIPC error, from any copy of the packages or from the native layer. */
  static isInstance(value: unknown): value is PhoenixError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return PhoenixError.isInstance(value);
  }

  /** Returns `error` if it already is a PhoenixError, else wraps it with `fallbackCode`. */
  static from(error: unknown, fallbackCode: PhoenixErrorCode = 'ERR_PHOENIX_SYSCALL_FAILED'): PhoenixError {
    if (PhoenixError.isInstance(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new PhoenixError(fallbackCode, message, { cause: error });
  }
}

export function isPhoenixErrorCode(code: unknown): code is PhoenixErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
