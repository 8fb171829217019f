// Bad input must never crash the process: every wrong call throws an Error with
// a stable code and the PhoenixIPC brand; syscall failures also carry errno,
// syscall and the errno text.
import { PhoenixError } from '@phoenix-ipc/errors';
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import {
  acceptSeqpacket,
  closeFd,
  connectSeqpacket,
  createEventFd,
  drainEventFd,
  FdWatcher,
  listenSeqpacket,
  loadBinding,
  openPidFd,
  peerCredentials,
  pollSync,
  receiveMessage,
  SharedSegment,
  sendMessage,
  setParentDeathSignal,
  signalEventFd,
  statSegment,
  unlinkSegment,
  waitSync,
} from '../src/index.js';
import { socketName, trackFd, useCleanup } from './helpers.js';

useCleanup();

const EBADF = 9;
/** Far above any fd this process has open. */
const HUGE_FD = 99_999;
const noop = () => {};

/** Every export that takes an fd, called with everything else valid. */
const FD_FUNCTIONS: [string, (fd: number) => unknown][] = [
  ['signalEventFd', (fd) => signalEventFd(fd)],
  ['drainEventFd', (fd) => drainEventFd(fd)],
  ['waitSync', (fd) => waitSync(fd, 10)],
  ['pollSync', (fd) => pollSync([fd], 10)],
  ['new FdWatcher', (fd) => new FdWatcher(fd, noop).close()],
  ['acceptSeqpacket', (fd) => acceptSeqpacket(fd)],
  ['sendMessage', (fd) => sendMessage(fd, Buffer.from('x'))],
  ['receiveMessage', (fd) => receiveMessage(fd)],
  ['peerCredentials', (fd) => peerCredentials(fd)],
  ['closeFd', (fd) => closeFd(fd)],
];

const NOT_AN_FD: [string, unknown][] = [
  ['a string', 'x'],
  ['a numeric string', '3'],
  ['a negative number', -1],
  ['a fraction', 1.5],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['a number beyond 32 bits', 2 ** 32],
  ['undefined', undefined],
  ['null', null],
  ['an object', {}],
];

/** A number that was an fd a moment ago. Used synchronously, before anything can reuse it. */
function closedFd(): number {
  const fd = createEventFd();
  closeFd(fd);
  return fd;
}

describe.each(FD_FUNCTIONS)('%s', (_name, call) => {
  it.each(NOT_AN_FD)('rejects %s as the fd with ERR_PHOENIX_INVALID_ARGUMENT', (_label, fd) => {
    expectPhoenixError(() => call(fd as number), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('rejects a huge fd (99999) with ERR_PHOENIX_BAD_FD, errno, syscall and the errno text', () => {
    const error = expectPhoenixError(() => call(HUGE_FD), 'ERR_PHOENIX_BAD_FD', /Bad file descriptor/);
    expect(error.errno).toBe(EBADF);
    expect(error.syscall).toBeTypeOf('string');
  });
});

// closeFd is left out here: closing a number that something else may have just reused would be a hazard of its own.
describe.each(FD_FUNCTIONS.filter(([name]) => name !== 'closeFd'))('%s on a closed fd', (_name, call) => {
  it('throws ERR_PHOENIX_BAD_FD with the errno text', () => {
    expectPhoenixError(() => call(closedFd()), 'ERR_PHOENIX_BAD_FD', /Bad file descriptor/);
  });
});

describe('syscall errors', () => {
  it('signalEventFd on a closed fd carries code, errno, syscall, the errno text and the brand', () => {
    const error = expectPhoenixError(() => signalEventFd(closedFd()), 'ERR_PHOENIX_BAD_FD');
    expect(error).toBeInstanceOf(Error);
    expect(error.errno).toBe(EBADF);
    expect(error.syscall).toBe('write');
    expect(error.message).toBe('write failed: Bad file descriptor');
    expect((error as unknown as Record<symbol, unknown>)[Symbol.for('phoenix-ipc.error')]).toBe(true);
  });

  it('on a wrong kind of fd (an eventfd given to peerCredentials) still carry a code and errno', () => {
    const fd = trackFd(createEventFd());
    const error = expectPhoenixError(() => peerCredentials(fd), 'ERR_PHOENIX_SYSCALL_FAILED', /socket/);
    expect(error.syscall).toBe('getsockopt');
    expect(error.errno).toBeTypeOf('number');
  });
});

describe('functions taking names', () => {
  it.each([
    ['SharedSegment.open', (value: unknown) => SharedSegment.open(value as string)],
    ['unlinkSegment', (value: unknown) => unlinkSegment(value as string)],
    ['statSegment', (value: unknown) => statSegment(value as string)],
    ['listenSeqpacket', (value: unknown) => listenSeqpacket(value as string)],
    ['connectSeqpacket', (value: unknown) => connectSeqpacket(value as string)],
  ])('%s rejects a number, undefined and an object with ERR_PHOENIX_INVALID_ARGUMENT', (_name, call) => {
    for (const value of [42, undefined, {}]) expectPhoenixError(() => call(value), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('listenSeqpacket rejects a non-integer backlog', () => {
    expectPhoenixError(() => listenSeqpacket(socketName(), 'many' as never), 'ERR_PHOENIX_INVALID_ARGUMENT', /backlog/);
  });
});

describe('other arguments', () => {
  it.each([
    ['a string', 'soon'],
    ['a negative number', -1],
    ['NaN', Number.NaN],
    ['undefined', undefined],
  ])('waitSync and pollSync reject %s as the timeout', (_label, timeout) => {
    const fd = trackFd(createEventFd());
    expectPhoenixError(() => waitSync(fd, timeout as number), 'ERR_PHOENIX_INVALID_ARGUMENT', /timeoutMs/);
    expectPhoenixError(() => pollSync([fd], timeout as number), 'ERR_PHOENIX_INVALID_ARGUMENT', /timeoutMs/);
  });

  it.each([
    ['a number', 5, /must be an array/],
    ['a string', '3', /must be an array/],
    ['null', null, /must be an array/],
    ['an empty array', [], /1 to 64/],
    ['65 fds', new Array(65).fill(0), /1 to 64/],
    ['an array holding a string', ['3'], /non-negative integers/],
    ['an array holding NaN', [Number.NaN], /non-negative integers/],
    ['an array holding a fraction', [0.5], /non-negative integers/],
    ['an array holding -1', [-1], /non-negative integers/],
    ['an array holding 2**32', [2 ** 32], /non-negative integers/],
  ])('pollSync rejects %s as the fd list', (_label, fds, reason) => {
    expectPhoenixError(() => pollSync(fds as number[], 0), 'ERR_PHOENIX_INVALID_ARGUMENT', reason);
  });

  it.each([
    ['a number', 5, /must be an array/],
    ['a string', 'abc', /must be an array/],
    ['an array holding NaN', [Number.NaN], /non-negative integers/],
    ['an array holding -1', [-1], /non-negative integers/],
  ])('sendMessage rejects %s as the fd list', (_label, fds, reason) => {
    const name = socketName();
    trackFd(listenSeqpacket(name));
    const client = trackFd(connectSeqpacket(name));
    expectPhoenixError(
      () => sendMessage(client, Buffer.from('x'), fds as number[]),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      reason,
    );
  });

  it('sendMessage rejects a closed fd in the fd list with ERR_PHOENIX_BAD_FD', () => {
    const name = socketName();
    trackFd(listenSeqpacket(name));
    const client = trackFd(connectSeqpacket(name));
    expectPhoenixError(() => sendMessage(client, Buffer.from('x'), [HUGE_FD]), 'ERR_PHOENIX_BAD_FD');
  });

  it.each([
    ['null options', [null]],
    ['a number as options', [1]],
    ['a non-boolean inheritable', [{ inheritable: 'yes' }]],
  ])('createEventFd rejects %s', (_label, args) => {
    expectPhoenixError(() => (createEventFd as (...a: unknown[]) => number)(...args), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it.each([
    ['a non-function callback', ['tick'], /callback/],
    ['null options', [noop, null], /options/],
    ['a non-boolean drain', [noop, { drain: 'yes' }], /drainEventFd/],
  ])('new FdWatcher rejects %s', (_label, args, reason) => {
    const fd = trackFd(createEventFd());
    expectPhoenixError(
      () => new (FdWatcher as unknown as new (...a: unknown[]) => FdWatcher)(fd, ...args),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      reason,
    );
  });

  it.each([['x'], [-1], [0], [1.5], [2 ** 32], [undefined]])('openPidFd rejects %s', (pid) => {
    expectPhoenixError(() => openPidFd(pid as number), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it.each([['SIGNOPE'], [-1], [65], [1.5], [null], [{}]])('setParentDeathSignal rejects %s', (signal) => {
    expectPhoenixError(() => setParentDeathSignal(signal as never), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('the raw addon', () => {
  // The native layer checks argument types itself, so even a caller that bypasses the
  // TypeScript wrappers gets a coded error rather than a crash.
  const binding = loadBinding() as unknown as Record<string, (...args: unknown[]) => unknown>;
  // No strings: a raw call with a plausible name (no TypeScript validation) could touch a real /dev/shm entry.
  const GARBAGE: unknown[][] = [[], new Array(6).fill({}), new Array(6).fill(-1), new Array(6).fill(null)];

  it.each(Object.keys(binding).filter((name) => name !== 'FdWatcher'))(
    '%s throws a coded, branded error for garbage arguments',
    (name) => {
      for (const args of GARBAGE) {
        if (
          ['createEventFd', 'createChannelPair', 'mallocStats', 'yieldProcessor', 'readClock'].includes(name) &&
          args.length === 0
        )
          continue; // a valid call
        let thrown: unknown;
        try {
          binding[name]!(...args);
        } catch (error) {
          thrown = error;
        }
        const error = thrown as Record<string | symbol, unknown>;
        expect(error, `${name}(${JSON.stringify(args)})`).toBeInstanceOf(Error);
        expect(error.code, `${name}(${JSON.stringify(args)})`).toMatch(/^ERR_PHOENIX_/);
        expect(PhoenixError.isInstance(error)).toBe(true);
        expect(error.name).toBe('PhoenixError');
      }
    },
  );

  it('FdWatcher throws a coded error for garbage constructor arguments', () => {
    const RawWatcher = binding.FdWatcher as unknown as new (...args: unknown[]) => unknown;
    for (const args of GARBAGE) {
      expectPhoenixError(() => new RawWatcher(...args), 'ERR_PHOENIX_INVALID_ARGUMENT');
    }
  });

  it('closeSegment returns false for an ArrayBuffer it did not map', () => {
    expect(binding.closeSegment!(new ArrayBuffer(16))).toBe(false);
  });
});
