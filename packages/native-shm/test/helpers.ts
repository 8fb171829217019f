// Shared test plumbing: unique names, tracked resources, real child processes
// and bounded waits. Every test file calls useCleanup() once at the top level,
// so whatever a test creates is released in afterEach even when it fails.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shmEntriesWithPrefix, withFdLimit } from '@phoenix-ipc/test-kit';
import { afterAll, afterEach, expect } from 'vitest';
import { closeFd, type FdWatcher, reapChild, type SharedSegment, unlinkSegment } from '../src/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** Every segment a test creates starts with this; afterAll checks none is left in /dev/shm. */
export const SEGMENT_PREFIX = `/phx-test-${process.pid}-`;
/** Upper bound for any single wait on a child (a watchdog, not a performance assertion). */
export const WAIT_MS = 15_000;

let counter = 0;
const segmentNames = new Set<string>();
const segments = new Set<SharedSegment>();
const fds = new Set<number>();
const watchers = new Set<FdWatcher>();
const children = new Set<ChildProcess>();
const strayPids = new Set<number>();
const allChildren: ChildProcess[] = [];

/** A fresh segment name (padded with 'x' to `bytes` bytes if given), unlinked after the test. */
export function segmentName(bytes?: number): string {
  let name = `${SEGMENT_PREFIX}${++counter}-`;
  if (bytes !== undefined) name += 'x'.repeat(bytes - Buffer.byteLength(name));
  segmentNames.add(name);
  return name;
}

/** A fresh abstract socket name (nothing to unlink: it vanishes with its socket). */
export function socketName(): string {
  return `phx-test-${process.pid}-sock-${++counter}`;
}

/** Closes the segment after the test (close is idempotent). */
export function track<T extends SharedSegment>(segment: T): T {
  segments.add(segment);
  return segment;
}

/** Closes the fd after the test unless the test untracks it first. */
export function trackFd(fd: number): number {
  fds.add(fd);
  return fd;
}

/** For a test that closes `fd` itself. */
export function untrackFd(fd: number): void {
  fds.delete(fd);
}

export function trackWatcher<T extends FdWatcher>(watcher: T): T {
  watchers.add(watcher);
  return watcher;
}

/** A process the test did not spawn directly (a grandchild): SIGKILLed after the test if still there. */
export function trackPid(pid: number): void {
  strayPids.add(pid);
}

const spawnedPids = new Set<number>();

/** A child started with spawnProcess: SIGKILLed and reaped after the test unless the test reaped it. */
export function trackSpawned(pid: number): number {
  spawnedPids.add(pid);
  return pid;
}

/** Waits until spawnProcess's child `pid` has ended, reaps it, and says how it ended. */
export async function reaped(pid: number): Promise<NonNullable<ReturnType<typeof reapChild>>> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const outcome = reapChild(pid);
    if (outcome !== null) {
      spawnedPids.delete(pid);
      return outcome;
    }
    if (Date.now() > deadline) throw new Error(`child ${pid} did not end within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A line-oriented view of a child's stdout. */
export interface Child {
  process: ChildProcess;
  pid: number;
  /** Resolves with the first stdout line (from now on, or already buffered) matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with { code, signal } once the child has exited. */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything written to stderr so far (for failure messages). */
  stderr(): string;
}

/**
 * Whether the main thread of `pid` sleeps in the kernel waiting on fds:
 * epoll (an idle event loop) or poll(2) (waitSync). Tests wait for this
 * state rather than for time, so that a wake-up is tested from a real sleep.
 */
export function sleepsOnFds(pid: number): boolean {
  let wchan: string;
  try {
    wchan = readFileSync(`/proc/${pid}/wchan`, 'latin1');
  } catch {
    return false;
  }
  return /epoll_wait|poll_schedule|do_sys_poll/.test(wchan);
}

/**
 * Starts `node test/fixtures/<fixture> ...args` as a real process, killed after the test;
 * with `fdLimit`, allowed that many open fds.
 */
export function spawnFixture(
  fixture: string,
  args: readonly string[] = [],
  { fdLimit, ...options }: SpawnOptions & { fdLimit?: number } = {},
): Child {
  const [command, ...commandArgs] = withFdLimit([process.execPath, join(FIXTURES, fixture), ...args], fdLimit);
  const child = spawn(command!, commandArgs, {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...options,
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${fixture}`);
  children.add(child);
  allChildren.push(child);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stdoutRest = '';
  let stderrText = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdoutRest += chunk;
    let newline = stdoutRest.indexOf('\n');
    while (newline !== -1) {
      lines.push(stdoutRest.slice(0, newline));
      stdoutRest = stdoutRest.slice(newline + 1);
      newline = stdoutRest.indexOf('\n');
    }
    for (const wake of [...waiters]) wake();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrText += chunk;
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    for (const wake of [...waiters]) wake();
  });
  const describe = () => `${fixture} ${args.join(' ')} (pid ${child.pid})`;

  // Not the kit's polling waitUntil: it looks again only when the child prints a line or exits.
  function whenChildShows<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const wake = () => {
        let value: T | undefined;
        try {
          value = check();
        } catch (error) {
          done();
          reject(error);
          return;
        }
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} from ${describe()}; ` +
              `stdout: ${JSON.stringify(lines)}, stderr: ${JSON.stringify(stderrText)}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      waiters.add(wake);
      wake();
    });
  }

  let consumed = 0;
  return {
    process: child,
    pid: child.pid,
    line(pattern, timeoutMs = WAIT_MS) {
      return whenChildShows(
        () => {
          while (consumed < lines.length) {
            const line = lines[consumed++]!;
            if (pattern.test(line)) return line;
          }
          if (exit) {
            throw new Error(
              `${describe()} exited (${JSON.stringify(exit)}) before printing ${pattern}; ` +
                `stdout: ${JSON.stringify(lines)}, stderr: ${JSON.stringify(stderrText)}`,
            );
          }
          return undefined;
        },
        `a line matching ${pattern}`,
        timeoutMs,
      );
    },
    exited(timeoutMs = WAIT_MS) {
      return whenChildShows(() => exit ?? undefined, 'exit', timeoutMs);
    },
    stderr: () => stderrText,
  };
}

async function cleanup(): Promise<void> {
  for (const watcher of watchers) watcher.close();
  watchers.clear();
  const exits: Promise<unknown>[] = [];
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      exits.push(
        new Promise((resolve) => {
          const timer = setTimeout(resolve, 5_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        }),
      );
      child.kill('SIGKILL');
    }
  }
  children.clear();
  for (const pid of strayPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  strayPids.clear();
  for (const pid of spawnedPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await reaped(pid).catch(() => undefined);
  }
  spawnedPids.clear();
  for (const segment of segments) segment.close();
  segments.clear();
  for (const fd of fds) {
    try {
      closeFd(fd);
    } catch {
      // the test closed it already
    }
  }
  fds.clear();
  for (const name of segmentNames) unlinkSegment(name);
  segmentNames.clear();
  await Promise.all(exits);
}

/** Registers the per-test cleanup and the end-of-file leak checks. */
export function useCleanup(): void {
  afterEach(cleanup);
  afterAll(async () => {
    await cleanup();
    expect(
      shmEntriesWithPrefix(SEGMENT_PREFIX.slice(1)),
      `/dev/shm entries left behind with prefix ${SEGMENT_PREFIX}`,
    ).toEqual([]);
    const running = allChildren.filter((child) => child.exitCode === null && child.signalCode === null);
    expect(
      running.map((child) => child.pid),
      'child processes still running',
    ).toEqual([]);
  });
}
