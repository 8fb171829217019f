import { readdirSync, readlinkSync } from 'node:fs';

/** This process's open fds, each with what it is ("21 -> anon_inode:[eventfd]"), from /proc/self/fd. */
function describeOpenFds(): Map<number, string> {
  const open = new Map<number, string>();
  for (const entry of readdirSync('/proc/self/fd')) {
    try {
      open.set(Number(entry), `${entry} -> ${readlinkSync(`/proc/self/fd/${entry}`)}`);
    } catch {
      // closed by now: the listing's own directory fd, which the next fd opened takes
    }
  }
  return open;
}

/** This process's open fds. */
export function openFds(): Set<number> {
  return new Set(describeOpenFds().keys());
}

/** The fds open now that were not open in `before`, each with what it is: a leak names itself in a failure. */
export function fdsOpenedSince(before: ReadonlySet<number>): string[] {
  return [...describeOpenFds()].filter(([fd]) => !before.has(fd)).map(([, described]) => described);
}
