import { readdirSync, readlinkSync } from 'node:fs';

/** This process's open fds, from /proc/self/fd. */
export function openFds(): Set<number> {
  return new Set(readdirSync('/proc/self/fd').map(Number));
}

/**
 * The fds open now that were not open in `before`, each with what it is
 * ("21 -> anon_inode:[eventfd]"): a leak names itself in the failure.
 */
export function fdsOpenedSince(before: ReadonlySet<number>): string[] {
  const opened: string[] = [];
  for (const fd of openFds()) {
    if (before.has(fd)) continue;
    try {
      opened.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // closed meanwhile: the listing's own directory fd, for one
    }
  }
  return opened;
}
