import { readFileSync } from 'node:fs';
import { isProcessAlive, isSameProcessAlive } from '@phoenix-ipc/native-shm';

/**
 * Whether the process named by `pid` + `startTime` (ticks since boot, see
 * processStartTime) still runs. A zombie (dead, not yet reaped) counts as
 * gone. A start time of 0 means the writer did not record one: then only the
 * pid is checked.
 */
export function processRuns(pid: number, startTime: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const alive = startTime > 0 ? isSameProcessAlive(pid, startTime) : isProcessAlive(pid);
  return alive && !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' || state === 'x';
  } catch {
    return false; // no /proc, or gone (isSameProcessAlive already said)
  }
}

/** One flock(2)/fcntl(2) lock from /proc/locks. */
export interface FileLock {
  pid: number;
  kind: string;
  access: string;
  major: number;
  minor: number;
  inode: number;
}

/** The locks /proc/locks lists (held, not waiting); [] where it cannot be read. Reading it disturbs no one. */
export function readLocks(): FileLock[] {
  let text: string;
  try {
    text = readFileSync('/proc/locks', 'latin1');
  } catch {
    return [];
  }
  const locks: FileLock[] = [];
  for (const line of text.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 12345 00:1a:67890 0 EOF"; waiters have "->" after the number.
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6 || fields[1] === '->') continue;
    const [, kind, , access, pidText, device] = fields;
    const parts = device!.split(':');
    if (parts.length !== 3) continue;
    const pid = Number(pidText);
    const inode = Number(parts[2]);
    if (!Number.isFinite(pid) || !Number.isFinite(inode)) continue;
    locks.push({
      pid,
      kind: kind!,
      access: access!,
      major: Number.parseInt(parts[0]!, 16),
      minor: Number.parseInt(parts[1]!, 16),
      inode,
    });
  }
  return locks;
}

/** Splits a Linux dev_t (as fs.stat reports it) into major and minor. */
export function splitDevice(dev: bigint): { major: number; minor: number } {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

/** Pids holding a lock on the file (device + inode); the supervisor holds one on its segment for its whole life. */
export function lockHolders(locks: readonly FileLock[], dev: bigint, inode: number): number[] {
  const { major, minor } = splitDevice(dev);
  const pids = locks
    .filter((lock) => lock.inode === inode && lock.major === major && lock.minor === minor)
    .map((lock) => lock.pid);
  return [...new Set(pids)].sort((a, b) => a - b);
}
