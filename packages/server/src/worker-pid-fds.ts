/**
 * callSync on the supervisor blocks its event loop, so supervision is paused
 * while it waits: a pidfd turns the target worker's death into readability,
 * and the blocked call wakes on it. One pidfd per worker index, reopened
 * when the index gets a new process.
 */
import { closeFd, openPidFd } from '@phoenix-ipc/native-shm';

export class WorkerPidFds {
  readonly #open = new Map<number, { pid: number; fd: number }>();

  /** The fds to wait on for the worker at `globalIndex` running as `pid` (none when there is no process). */
  fdsFor(globalIndex: number, pid: number | null): number[] {
    if (pid === null || pid <= 0) return [];
    const current = this.#open.get(globalIndex);
    if (current?.pid === pid) return [current.fd];
    if (current !== undefined) closeFd(current.fd);
    this.#open.delete(globalIndex);
    let fd = -1;
    try {
      fd = openPidFd(pid);
    } catch {
      fd = -1;
    }
    if (fd < 0) return [];
    this.#open.set(globalIndex, { pid, fd });
    return [fd];
  }

  closeAll(): void {
    for (const { fd } of this.#open.values()) closeFd(fd);
    this.#open.clear();
  }
}
