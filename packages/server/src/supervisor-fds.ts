/**
 * The eventfds a supervisor makes when it is created, all or none, and what
 * to tell a user whose process has too few fds for them: "eventfd failed:
 * Too many open files" alone does not say that maxClients 1024 needs about
 * 2,100 fds, more than the common default limit of 1024.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { closeFd, createEventFd } from '@phoenix-ipc/native-shm';
import { PhoenixError } from '@phoenix-ipc/shm-layout';

/** `count` eventfds, or none: those made before a failure are closed again (a retry must not find fewer). */
export function createEventFds(count: number): number[] {
  const fds: number[] = [];
  try {
    for (let i = 0; i < count; i++) fds.push(createEventFd());
    return fds;
  } catch (error) {
    for (const fd of fds) closeFd(fd);
    throw error;
  }
}

/** The process's soft limit on open fds, or null if /proc does not say. */
function openFilesLimit(): number | null {
  try {
    const found = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return found === null ? null : Number(found[1]);
  } catch {
    return null;
  }
}

export interface FdNeeds {
  maxClients: number;
  normalWorkers: number;
  vipWorkers: number;
  spareWorkers: number;
}

/** `error` as it is, or, for a shortage of fds (EMFILE), with how many the supervisor needs and how to get them. */
export function explainFdShortage(error: PhoenixError, needs: FdNeeds): PhoenixError {
  if (error.errno !== constants.errno.EMFILE) return error;
  const workers = needs.normalWorkers + needs.vipWorkers + needs.spareWorkers;
  // Per client: its slot's doorbell and its control connection. Per worker: its doorbell, pidfd and IPC channel.
  const needed = 2 * (needs.maxClients + 1) + 3 * workers + 32;
  const limit = openFilesLimit();
  return new PhoenixError(
    error.code,
    `${error.message}: a supervisor with maxClients ${needs.maxClients} and ${workers} workers (spares included) ` +
      `holds about ${needed} fds, and this process may open ${limit ?? 'too few'} (ulimit -n); ` +
      'raise that limit or lower maxClients',
    { errno: error.errno, syscall: error.syscall, cause: error },
  );
}
