import { once } from 'node:events';
import { Socket } from 'node:net';
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { closeFd, createChannelPair, reapChild, spawnProcess } from '../src/index.js';
import { reaped, trackFd, trackSpawned, useCleanup } from './helpers.js';

useCleanup();

/** What a child writes to its fd 3 (our end of a channel pair), until it closes it. */
async function readAll(fd: number): Promise<string> {
  const socket = new Socket({ fd, readable: true, writable: false });
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  await once(socket, 'end');
  socket.destroy();
  return text;
}

/**
 * Runs `script` in /bin/sh with a channel pair's other end as fd 3 (and
 * `extraFds` after it, which it closes here once the child has them);
 * returns our end.
 */
function shell(
  script: string,
  env: Record<string, string | undefined> = {},
  extraFds: number[] = [],
): { pid: number; ours: number } {
  const [ours, theirs] = createChannelPair();
  try {
    const pid = trackSpawned(
      spawnProcess({ file: '/bin/sh', args: ['-c', script, 'zero', 'one'], env, fds: [theirs, ...extraFds] }),
    );
    return { pid, ours };
  } finally {
    for (const fd of [theirs, ...extraFds]) closeFd(fd);
  }
}

describe('spawnProcess', () => {
  it('runs the program with exactly the arguments and environment given', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    const { pid, ours } = shell('echo "$0|$1|$ONLY|${SKIPPED:-unset}|${HOME:-no home}" >&3', {
      ONLY: 'this',
      SKIPPED: undefined,
    });
    expect(await readAll(ours)).toBe('zero|one|this|unset|no home\n');
    expect(await reaped(pid)).toEqual({ code: 0, signal: null });
  });

  it('gives the child fds[i] as its fd 3 + i', async () => {
    const [second, secondTheirs] = createChannelPair();
    const { pid, ours } = shell('echo one >&3; echo two >&4', {}, [secondTheirs]);
    const [one, two] = await Promise.all([readAll(ours), readAll(second)]);
    expect([one, two]).toEqual(['one\n', 'two\n']);
    await reaped(pid);
  });

  it('does not pass on close-on-exec fds', async () => {
    const [kept, keptTheirs] = createChannelPair(); // close-on-exec on both ends
    trackFd(kept);
    trackFd(keptTheirs);
    const { pid, ours } = shell(`if [ -e /proc/self/fd/${keptTheirs} ]; then echo open >&3; else echo closed >&3; fi`);
    expect(keptTheirs).toBeGreaterThan(4);
    expect(await readAll(ours)).toBe('closed\n');
    await reaped(pid);
  });

  it('throws ERR_PHOENIX_INVALID_ARGUMENT for a program that does not exist', () => {
    expectPhoenixError(
      () => spawnProcess({ file: '/no/such/program', args: [], env: {} }),
      'ERR_PHOENIX_INVALID_ARGUMENT',
    );
  });

  it.each([
    ['no options', undefined],
    ['an empty file', { file: '', args: [], env: {} }],
    ['args not an array', { file: '/bin/true', args: 'x', env: {} }],
    ['an env key with =', { file: '/bin/true', args: [], env: { 'A=B': 'c' } }],
    ['an fd that is not one', { file: '/bin/true', args: [], env: {}, fds: [-1] }],
    ['a NUL in an argument', { file: '/bin/true', args: ['a\0b'], env: {} }],
  ])('throws ERR_PHOENIX_INVALID_ARGUMENT for %s', (_what, options) => {
    expectPhoenixError(() => spawnProcess(options as never), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('reapChild', () => {
  it('is null while the child runs, then says which signal ended it', async () => {
    const pid = trackSpawned(spawnProcess({ file: '/bin/sleep', args: ['60'], env: {} }));
    expect(reapChild(pid)).toBeNull();
    process.kill(pid, 'SIGKILL');
    expect(await reaped(pid)).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('reports the exit code', async () => {
    const pid = trackSpawned(spawnProcess({ file: '/bin/sh', args: ['-c', 'exit 7'], env: {} }));
    expect(await reaped(pid)).toEqual({ code: 7, signal: null });
  });

  it('throws ERR_PHOENIX_NO_SUCH_PROCESS for a pid that is not a child (or was reaped)', async () => {
    const pid = trackSpawned(spawnProcess({ file: '/bin/true', args: [], env: {} }));
    await reaped(pid);
    expectPhoenixError(() => reapChild(pid), 'ERR_PHOENIX_NO_SUCH_PROCESS');
    expectPhoenixError(() => reapChild(process.pid), 'ERR_PHOENIX_NO_SUCH_PROCESS');
  });

  it.each([0, -1, 1.5, '1'])('throws ERR_PHOENIX_INVALID_ARGUMENT for pid %s', (pid) => {
    expectPhoenixError(() => reapChild(pid as number), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });
});
