// Where the kernel has no pidfds, a worker is started with child_process.fork.
// A fork that throws (no memory, no processes left) is a start that failed,
// like any other: 'error', then 'exit' with 127. It never throws at the
// supervisor, whose restart timers and exit callbacks start workers.
import { describe, expect, it, vi } from 'vitest';
import { launchWorkerProcess } from '../src/worker-process.js';

vi.mock('@phoenix-ipc/native-shm', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@phoenix-ipc/native-shm')>()),
  openPidFd: () => -1, // a kernel before 5.3
}));

vi.mock('node:child_process', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:child_process')>()),
  fork: () => {
    throw Object.assign(new Error('spawn ENOMEM'), { code: 'ENOMEM', errno: -12, syscall: 'spawn' });
  },
}));

describe('a worker process started by fork (no pidfds)', () => {
  it("that cannot be started emits 'error' (ERR_PHOENIX_WORKER_START_FAILED) and exits with 127", async () => {
    const child = launchWorkerProcess({ script: 'unused.mjs', args: [], execArgv: [], env: {}, fds: [] });
    const errors: unknown[] = [];
    child.on('error', (error) => errors.push(error));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(127);
    expect(errors).toEqual([
      expect.objectContaining({ code: 'ERR_PHOENIX_WORKER_START_FAILED', message: 'spawn ENOMEM' }),
    ]);
    expect(child.connected).toBe(false);
  });
});
