import { PhoenixError } from '@phoenix-ipc/errors';
import { loadBinding, type RawFdWatcher } from './binding.js';
import { checkArray, checkOptionsObject, invalidArgument } from './errors.js';
import { fromNative } from './native-errors.js';

/**
 * Creates an eventfd doorbell: non-blocking, close-on-exec unless `inheritable`
 * (then a spawned child inherits it at the same number). Pass it to a child
 * through the `stdio` array of `child_process.spawn`/`fork`, or to any process
 * with `sendMessage(socket, data, [fd])`.
 */
export function createEventFd(options: { inheritable?: boolean } = {}): number {
  checkOptionsObject(options);
  return loadBinding().createEventFd(options.inheritable ?? false);
}

/** Rings the doorbell (adds 1 to the eventfd counter). One write(2). */
export function signalEventFd(fd: number): void {
  loadBinding().signalEventFd(fd);
}

/** signalEventFd under the design's own name, `signal(fd)`. */
export const signal: (fd: number) => void = signalEventFd;

/** Resets the doorbell; returns how many signals were pending (0 if none). */
export function drainEventFd(fd: number): number {
  return loadBinding().drainEventFd(fd);
}

/**
 * Whether `fd` is a doorbell of this build (an eventfd on Linux), as a
 * doorbell another process passed must be: any other fd would be polled,
 * read or written in ways it cannot take (a watcher on /dev/null fails, a
 * blocking pipe could stall a ring).
 */
export function isDoorbellFd(fd: number): boolean {
  if (!Number.isInteger(fd) || fd < 0) throw invalidArgument(`fd must be a non-negative integer, got ${String(fd)}`);
  return loadBinding().isDoorbellFd(fd);
}

export function closeFd(fd: number): void {
  loadBinding().closeFd(fd);
}

function timeoutArgument(timeoutMs: number): number {
  if (timeoutMs === Number.POSITIVE_INFINITY) return -1;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw invalidArgument(`timeoutMs must be a non-negative number or Infinity, got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

/**
 * Blocks the calling thread (poll(2)) until the eventfd is signalled or
 * `timeoutMs` passes; drains it on wake. No CPU is used while waiting.
 */
export function waitSync(fd: number, timeoutMs: number): 'ok' | 'timed-out' {
  return loadBinding().waitSync(fd, timeoutArgument(timeoutMs));
}

/**
 * Blocks until one of `fds` is readable (or hung up), or `timeoutMs` passes.
 * Returns the index into `fds` of the first ready one, or -1 on timeout.
 * Nothing is read: the caller drains what it woke on.
 */
export function pollSync(fds: readonly number[], timeoutMs: number): number {
  checkArray(fds, 'fds');
  return loadBinding().pollSync([...fds], timeoutArgument(timeoutMs));
}

export interface FdWatcherOptions {
  /** Treat the fd as an eventfd and reset it before each callback (default true). */
  drain?: boolean;
  /** Keep the event loop alive while armed (default true); see ref()/unref(). */
  ref?: boolean;
}

/**
 * Calls `callback` on the event loop whenever `fd` turns readable (libuv
 * uv_poll_t: no thread held, no busy loop). `start()` and `stop()` only change
 * the epoll registration, so arming it just before going idle is cheap.
 * One watcher per fd per thread; close() it before closing the fd.
 */
export class FdWatcher {
  readonly fd: number;
  #raw: RawFdWatcher | null;

  constructor(fd: number, callback: (error: Error | null) => void, options: FdWatcherOptions = {}) {
    if (!Number.isInteger(fd) || fd < 0) throw invalidArgument(`fd must be a non-negative integer, got ${String(fd)}`);
    if (typeof callback !== 'function') throw invalidArgument('callback must be a function');
    checkOptionsObject(options);
    this.fd = fd;
    this.#raw = new (loadBinding().FdWatcher)(
      fd,
      (status) => {
        // libuv reports -errno.
        callback(
          status < 0 ? fromNative({ errno: -status, syscall: 'uv_poll', message: `poll on fd ${fd} failed` }) : null,
        );
      },
      options.drain ?? true,
    );
    if (options.ref === false) this.#raw.unref();
  }

  get active(): boolean {
    return this.#raw?.active ?? false;
  }

  get closed(): boolean {
    return this.#raw === null;
  }

  start(): void {
    if (!this.#raw) throw new PhoenixError('ERR_PHOENIX_BAD_FD', `watcher for fd ${this.fd} is closed`);
    this.#raw.start();
  }

  stop(): void {
    this.#raw?.stop();
  }

  /** Lets the process exit while this watcher is armed. */
  unref(): void {
    this.#raw?.unref();
  }

  ref(): void {
    this.#raw?.ref();
  }

  /** Stops and releases the watcher. Idempotent. The fd itself stays open. */
  close(): void {
    this.#raw?.close();
    this.#raw = null;
  }
}
