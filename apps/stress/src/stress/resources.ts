// Everything a scenario creates (processes, segments, files), so that it can
// always be torn down: after the scenario, after a failure or a watchdog, and
// synchronously from a signal handler.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { statSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import type { FixtureProcess } from './child.js';
import { RUN_ENV } from './protocol.js';

/** Live (non-zombie) processes whose environment has RUN_ENV=<tag> (exactly, or starting with `prefix`). */
export function processesTagged(tag: string, prefix = false): number[] {
  const needle = Buffer.from(`${RUN_ENV}=${tag}${prefix ? '' : '\0'}`, 'latin1');
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // dead, not yet reaped
      const environ = readFileSync(`/proc/${entry}/environ`);
      if (environ.includes(needle)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/**
 * Removes /dev/shm entries of earlier stress runs whose CLI is dead (a CLI
 * that was SIGKILLed could not clean up; its processes died with it). Names:
 * phxs<cli pid>-<scenario>-<tag>. Returns the names removed.
 */
export function sweepStaleSegments(): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/dev/shm');
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const match = /^phxs(\d+)-\d+-/.exec(entry);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || processesTagged(`${pid}-`, true).length > 0) continue;
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (error) {
      alive = (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (alive) continue;
    try {
      unlinkSegment(`/${entry}`);
      removed.push(entry);
    } catch {
      // not ours
    }
  }
  return removed;
}

export interface Leftovers {
  processes: number[];
  segments: string[];
}

export class Resources {
  /** The RUN_ENV value of this scenario's processes. */
  readonly tag: string;
  readonly children = new Set<FixtureProcess>();
  readonly segments = new Set<string>();
  readonly paths = new Set<string>();
  readonly #closers = new Set<() => void>();

  constructor(tag: string) {
    this.tag = tag;
  }

  /** Something to close before the segments are unlinked (a mapping). */
  onCleanup(close: () => void): () => void {
    this.#closers.add(close);
    return () => this.#closers.delete(close);
  }

  /** SIGKILLs every process of this scenario (children, and their children found by tag). */
  killAllSync(): void {
    for (const child of this.children) if (child.exit === null) child.kill('SIGKILL');
    for (const pid of processesTagged(this.tag)) killQuietly(pid);
  }

  /** Unlinks the segments and removes the files; synchronous (signal handlers use it). */
  removeAllSync(): void {
    for (const close of this.#closers) {
      try {
        close();
      } catch {
        // already closed
      }
    }
    this.#closers.clear();
    for (const name of this.segments) {
      try {
        unlinkSegment(name);
      } catch {
        // gone
      }
    }
    for (const path of this.paths) rmSync(path, { recursive: true, force: true });
  }

  /** What is still there right now (before the forced cleanup: what the system did not clean up itself). */
  leftovers(): Leftovers {
    return {
      processes: processesTagged(this.tag),
      segments: [...this.segments].filter((name) => {
        try {
          return statSegment(name).exists;
        } catch {
          return false;
        }
      }),
    };
  }

  /** Kills everything, waits (up to waitMs) for it to be gone, removes segments and files; returns what survived. */
  async cleanup(waitMs = 3000): Promise<Leftovers> {
    this.killAllSync();
    const deadline = Date.now() + waitMs;
    await Promise.race([
      Promise.all([...this.children].map((child) => child.exited)),
      new Promise((resolve) => setTimeout(resolve, waitMs)),
    ]);
    let pids = processesTagged(this.tag);
    while (pids.length > 0 && Date.now() < deadline) {
      for (const pid of pids) killQuietly(pid);
      await new Promise((resolve) => setTimeout(resolve, 20));
      pids = processesTagged(this.tag);
    }
    this.removeAllSync();
    return this.leftovers();
  }
}
