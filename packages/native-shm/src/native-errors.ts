/**
 * Turns what the C++ layer throws into PhoenixErrors. The addon reports a
 * failed system call as `{ errno, syscall, path }` and a wrong argument type
 * as a TypeError; which catalogue code that means is decided here, in one
 * table, so the native layer carries no policy (see native/addon.cc).
 */
import { constants } from 'node:os';
import { PhoenixError } from '@phoenix-ipc/errors';
import type { NativeShmErrorCode } from './errors.js';

const E = constants.errno;

/** errno -> code, for every system call. */
const BY_ERRNO = new Map<number, NativeShmErrorCode>([
  [E.ENOENT, 'ERR_PHOENIX_SEGMENT_NOT_FOUND'],
  [E.EEXIST, 'ERR_PHOENIX_SEGMENT_EXISTS'],
  [E.EACCES, 'ERR_PHOENIX_PERMISSION'],
  [E.EPERM, 'ERR_PHOENIX_PERMISSION'],
  [E.EBADF, 'ERR_PHOENIX_BAD_FD'],
  [E.EINVAL, 'ERR_PHOENIX_INVALID_ARGUMENT'],
  [E.ENAMETOOLONG, 'ERR_PHOENIX_INVALID_ARGUMENT'],
  [E.ECONNREFUSED, 'ERR_PHOENIX_CONNECT_REFUSED'],
  [E.EPIPE, 'ERR_PHOENIX_PEER_GONE'],
  [E.ECONNRESET, 'ERR_PHOENIX_PEER_GONE'],
  [E.ESRCH, 'ERR_PHOENIX_NO_SUCH_PROCESS'],
  [E.ENOSPC, 'ERR_PHOENIX_NO_SPACE'],
  // The OS lacks the call (eventfd and the death watch on macOS): the platform, not a bug.
  [E.ENOSYS, 'ERR_PHOENIX_UNSUPPORTED_PLATFORM'],
]);

/** Where one system call's errno means something more precise than the table above. */
const BY_SYSCALL: Record<string, Map<number, NativeShmErrorCode>> = {
  // Nobody listens at an abstract socket name: the server is not there.
  connect: new Map([[E.ENOENT, 'ERR_PHOENIX_CONNECT_REFUSED']]),
  // The control socket name is taken: another supervisor owns it.
  bind: new Map([[E.EADDRINUSE, 'ERR_PHOENIX_SEGMENT_EXISTS']]),
  // libuv refuses an fd it cannot poll.
  uv_poll_init: new Map([[E.ENOTSOCK, 'ERR_PHOENIX_BAD_FD']]),
  // tmpfs may answer a reservation it cannot back with ENOMEM rather than ENOSPC.
  posix_fallocate: new Map([[E.ENOMEM, 'ERR_PHOENIX_NO_SPACE']]),
  // Names are checked before shm_open, so EINVAL means what sits at the name is no segment (a directory, a FIFO,
  // a socket), and ELOOP that it is a symlink, which shm_open never follows.
  shm_open: new Map([
    [E.EINVAL, 'ERR_PHOENIX_BAD_SEGMENT'],
    [E.ELOOP, 'ERR_PHOENIX_BAD_SEGMENT'],
  ]),
  // No such program: a bad path, not a missing segment.
  posix_spawn: new Map([[E.ENOENT, 'ERR_PHOENIX_INVALID_ARGUMENT']]),
  // Not a child of this process (or already reaped).
  waitpid: new Map([[E.ECHILD, 'ERR_PHOENIX_NO_SUCH_PROCESS']]),
};

/** The catalogue code for a failed system call. */
export function codeForErrno(syscall: string, errno: number): NativeShmErrorCode {
  return BY_SYSCALL[syscall]?.get(errno) ?? BY_ERRNO.get(errno) ?? 'ERR_PHOENIX_SYSCALL_FAILED';
}

/** A PhoenixError for anything the addon threw (already-PhoenixErrors pass through). */
export function fromNative(error: unknown): PhoenixError {
  if (PhoenixError.isInstance(error)) return error;
  if (typeof error === 'object' && error !== null) {
    const raw = error as { errno?: unknown; syscall?: unknown; path?: unknown; message?: unknown };
    const message = typeof raw.message === 'string' ? raw.message : String(error);
    if (typeof raw.errno === 'number' && typeof raw.syscall === 'string') {
      return new PhoenixError(codeForErrno(raw.syscall, raw.errno), message, {
        errno: raw.errno,
        syscall: raw.syscall,
        path: typeof raw.path === 'string' ? raw.path : undefined,
      });
    }
    if (error instanceof TypeError) return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
  }
  return PhoenixError.from(error, 'ERR_PHOENIX_SYSCALL_FAILED');
}

/**
 * Wraps every function of the raw addon so that what it throws is a
 * PhoenixError. The wrapper is a try/catch around the call, which V8
 * inlines: the doorbell's hot path pays nothing measurable for it. Classes
 * (FdWatcher) get a subclass whose constructor and methods do the same.
 */
export function withPhoenixErrors<T extends object>(raw: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'function') wrapped[key] = value;
    else if (/^[A-Z]/.test(key)) wrapped[key] = wrapClass(value as new (...args: unknown[]) => object);
    else wrapped[key] = wrapFunction(value as (...args: unknown[]) => unknown);
  }
  return wrapped as T;
}

function wrapFunction(fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  return (...args: unknown[]) => {
    try {
      return fn(...args);
    } catch (error) {
      throw fromNative(error);
    }
  };
}

function wrapClass(Raw: new (...args: unknown[]) => object): new (...args: unknown[]) => object {
  class Wrapped extends Raw {
    constructor(...args: unknown[]) {
      try {
        super(...args);
      } catch (error) {
        throw fromNative(error);
      }
    }
  }
  for (const key of Object.getOwnPropertyNames(Raw.prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(Raw.prototype, key);
    if (key === 'constructor' || typeof descriptor?.value !== 'function') continue;
    const method = descriptor.value as (...args: unknown[]) => unknown;
    // Native methods are read-only on their prototype: shadow them on ours.
    Object.defineProperty(Wrapped.prototype, key, {
      configurable: true,
      writable: true,
      value(this: object, ...args: unknown[]) {
        try {
          return method.apply(this, args);
        } catch (error) {
          throw fromNative(error);
        }
      },
    });
  }
  return Wrapped;
}
