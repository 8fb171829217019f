/**
 * Nothing the benchmark starts outlives it. Every runner is the leader of its
 * own process group (echo servers, supervisors, workers and the C program are
 * in it); when a job ends, fails or times out, and when bench-main exits for
 * any reason (error, Ctrl-C, SIGTERM), the whole group gets SIGKILL and every
 * segment named for this run is unlinked. Each runner and peer also asks for
 * SIGKILL when its parent dies (PR_SET_PDEATHSIG), for the case where
 * bench-main itself is SIGKILLed.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { isProcessAlive, unlinkSegment } from '@phoenix-ipc/native-shm';

const groups = new Set<number>();
const directories = new Set<string>();
/** Segment names of this run start with it: /phx_bench_<pid>_<n>. */
export const SEGMENT_PREFIX = `phx_bench_${process.pid}_`;
let installed = false;

export function trackGroup(pid: number): void {
  groups.add(pid);
}

/** Kills a runner's whole process group (it is gone already: nothing happens). */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left in the group
  }
  groups.delete(pid);
}

export function trackDirectory(path: string): void {
  directories.add(path);
}

/** Gone, or a zombie nobody reaped yet (its segments are as orphaned as a dead process's). */
function isDead(pid: number): boolean {
  if (!isProcessAlive(pid)) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function segmentNames(): string[] {
  try {
    return readdirSync('/dev/shm');
  } catch {
    return [];
  }
}

/** Unlinks this run's segments; with `stale`, also those of earlier runs whose process is dead. */
export function unlinkSegments(stale = false): string[] {
  const removed: string[] = [];
  for (const name of segmentNames()) {
    const match = /^phx_bench_(?:c_)?(\d+)/.exec(name);
    if (match === null) continue;
    const mine = name.startsWith(SEGMENT_PREFIX);
    if (mine || (stale && isDead(Number(match[1])))) {
      try {
        unlinkSegment(`/${name}`);
        removed.push(name);
      } catch {
        // gone meanwhile
      }
    }
  }
  return removed;
}

export function cleanupAll(): void {
  for (const pid of [...groups]) killGroup(pid);
  unlinkSegments();
  for (const path of directories) rmSync(path, { recursive: true, force: true });
  directories.clear();
}

export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupAll);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nphoenix-bench: ${signal}: stopping every benchmark process\n`);
      cleanupAll();
      process.exit(code);
    });
  }
}
