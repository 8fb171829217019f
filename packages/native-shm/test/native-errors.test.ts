// Every failure of the native layer is a PhoenixError from the one catalogue:
// the C++ side reports { errno, syscall, path } and TypeScript maps it to a
// code. One test per errno the layer can meet, each provoked for real.
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { PhoenixError } from '@phoenix-ipc/errors';
import { runWithPrivateShm } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import {
  acceptSeqpacket,
  closeFd,
  codeForErrno,
  connectSeqpacket,
  fileSystemSpace,
  listenSeqpacket,
  SharedSegment,
  signalEventFd,
} from '../src/index.js';
import { FIXTURES, segmentName, socketName, track, trackFd, useCleanup } from './helpers.js';

useCleanup();

const E = constants.errno;
const FAILURE = join(FIXTURES, 'native-failure.mjs');

function thrownBy(fn: () => unknown): PhoenixError {
  try {
    fn();
  } catch (error) {
    return error as PhoenixError;
  }
  throw new Error('expected a throw');
}

function expectNative(error: unknown, code: string, errno: number, syscall: string): void {
  expect(error).toBeInstanceOf(PhoenixError);
  expect(PhoenixError.isInstance(error)).toBe(true);
  const e = error as PhoenixError;
  expect(e.name).toBe('PhoenixError');
  expect(e.code, e.message).toBe(code);
  expect(e.errno).toBe(errno);
  expect(e.syscall).toBe(syscall);
}

describe('native failures are PhoenixErrors with code, errno and syscall', () => {
  it('ENOENT: opening a segment that does not exist', () => {
    const name = segmentName();
    const error = thrownBy(() => SharedSegment.open(name));
    expectNative(error, 'ERR_PHOENIX_SEGMENT_NOT_FOUND', E.ENOENT, 'shm_open');
    expect(error.path).toBe(name);
  });

  it('EEXIST: creating exclusively a name that exists', () => {
    const name = segmentName();
    track(SharedSegment.open(name, { create: true, exclusive: true, size: 4096 }));
    const error = thrownBy(() => SharedSegment.open(name, { create: true, exclusive: true, size: 4096 }));
    expectNative(error, 'ERR_PHOENIX_SEGMENT_EXISTS', E.EEXIST, 'shm_open');
  });

  it('EACCES: opening a segment this user may not read', () => {
    const name = segmentName();
    // Root is granted everything, so as root the opener is the unprivileged
    // user; otherwise the segment's owner takes every permission bit away.
    const asRoot = process.getuid?.() === 0;
    track(SharedSegment.open(name, { create: true, exclusive: true, size: 4096, mode: asRoot ? 0o600 : 0 }));
    const result = spawnSync(process.execPath, [FAILURE, 'open', name], {
      encoding: 'utf8',
      timeout: 30_000,
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      thrown: true,
      name: 'PhoenixError',
      isPhoenixError: true,
      code: 'ERR_PHOENIX_PERMISSION',
      errno: E.EACCES,
      syscall: 'shm_open',
      path: name,
    });
  });

  it('EBADF: ringing a doorbell that is not an open descriptor', () => {
    expectNative(
      thrownBy(() => signalEventFd(99_999)),
      'ERR_PHOENIX_BAD_FD',
      E.EBADF,
      'write',
    );
  });

  it('EINVAL: accepting on a socket that is not listening', () => {
    const name = socketName();
    trackFd(listenSeqpacket(name));
    const connected = trackFd(connectSeqpacket(name));
    expectNative(
      thrownBy(() => acceptSeqpacket(connected)),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      E.EINVAL,
      'accept',
    );
  });

  it('ENOSPC: creating a segment larger than /dev/shm can hold, leaving nothing behind', async () => {
    const run = await runWithPrivateShm([process.execPath, FAILURE, 'create', '/phx-enospc', String(4 << 20)], {
      size: '1m',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.messages[0]).toMatchObject({
      thrown: true,
      name: 'PhoenixError',
      isPhoenixError: true,
      code: 'ERR_PHOENIX_NO_SPACE',
      errno: E.ENOSPC,
      syscall: 'posix_fallocate',
      path: '/phx-enospc',
      leftover: [],
    });
  });

  it('closing a closed descriptor is EBADF too', () => {
    const name = socketName();
    const fd = listenSeqpacket(name);
    closeFd(fd);
    expectNative(
      thrownBy(() => closeFd(fd)),
      'ERR_PHOENIX_BAD_FD',
      E.EBADF,
      'close',
    );
  });
});

describe('the errno table', () => {
  it.each([
    ['connect', E.ENOENT, 'ERR_PHOENIX_CONNECT_REFUSED'],
    ['bind', E.EADDRINUSE, 'ERR_PHOENIX_SEGMENT_EXISTS'],
    ['shm_open', E.ENOENT, 'ERR_PHOENIX_SEGMENT_NOT_FOUND'],
    ['posix_fallocate', E.ENOSPC, 'ERR_PHOENIX_NO_SPACE'],
    ['mkfifo', E.ENOSPC, 'ERR_PHOENIX_NO_SPACE'],
    ['kill', E.ESRCH, 'ERR_PHOENIX_NO_SUCH_PROCESS'],
    ['sendmsg', E.EPIPE, 'ERR_PHOENIX_PEER_GONE'],
    ['eventfd', E.ENOSYS, 'ERR_PHOENIX_UNSUPPORTED_PLATFORM'],
    ['death_watch', E.ENOSYS, 'ERR_PHOENIX_UNSUPPORTED_PLATFORM'],
    ['open', E.EMFILE, 'ERR_PHOENIX_SYSCALL_FAILED'],
  ])('%s failing with errno %i is %s', (syscall, errno, code) => {
    expect(codeForErrno(syscall, errno)).toBe(code);
  });
});

describe('fileSystemSpace', () => {
  it('reports the size and free bytes of /dev/shm', () => {
    const space = fileSystemSpace();
    expect(space).not.toBeNull();
    expect(space!.totalBytes).toBeGreaterThan(0);
    expect(space!.freeBytes).toBeGreaterThanOrEqual(0);
    expect(space!.freeBytes).toBeLessThanOrEqual(space!.totalBytes);
  });

  it('throws a PhoenixError for a path that does not exist', () => {
    expectNative(
      thrownBy(() => fileSystemSpace('/nonexistent-phoenix-path')),
      'ERR_PHOENIX_SEGMENT_NOT_FOUND',
      E.ENOENT,
      'statvfs',
    );
  });
});
