// A process the supervisor started as a worker never becomes a supervisor by
// accident: a cluster-style script that computes its segment name differently
// in each process (pid, time, random) would otherwise fork workers
// recursively. Real processes; the tree is sampled while it runs.
import { readdirSync, readFileSync } from 'node:fs';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, Harness, segmentsWithPrefix } from './harness.js';

const harness = new Harness();
afterEach(() => harness.cleanup());

/** pids of every live descendant of `root`. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      parent.set(Number(entry), Number(fields[1]));
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const pid = frontier.pop()!;
    for (const [child, ppid] of parent) {
      if (ppid === pid) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}

/** PhoenixIPC control sockets whose name mentions `needle` (/proc/net/unix shows abstract names as @name). */
function abstractSockets(needle: string): string[] {
  return readFileSync('/proc/net/unix', 'latin1')
    .split('\n')
    .filter((line) => line.includes('@phoenix-ipc/') && line.includes(needle));
}

describe('a worker whose script computes another segment name', () => {
  it('fails start() with ERR_PHOENIX_WORKER_START_FAILED naming both segments and the fix, and never forks further', async () => {
    const prefix = `phx-bomb-${process.pid}-`;
    const supervisor = harness.script(`${FIXTURES}name-per-process.mjs`, [prefix]);
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, descendants(supervisor.pid).length);
    }, 2);
    try {
      const failed = await supervisor.waitFor('startFailed', 30_000);
      const name = String(failed.name);
      expect(failed.startFailed).toBe('ERR_PHOENIX_WORKER_START_FAILED');
      const message = String(failed.message);
      expect(message).toContain(`'${name}'`); // the segment the worker serves
      expect(message).toMatch(new RegExp(`IpcServer.create\\('/${prefix}\\d+'\\) in a worker process`));
      expect(message).toContain('same segment name');
      expect(message).toContain('nestedSupervisor');
      await supervisor.exited;
      // The supervisor and its two workers, never more.
      expect(most).toBeLessThanOrEqual(2);
      expect(descendants(supervisor.pid)).toEqual([]);
      expect(segmentsWithPrefix(prefix)).toEqual([]);
      // Its control socket (an abstract name carrying its pid) is closed too.
      expect(abstractSockets(`/${supervisor.pid}/`)).toEqual([]);
    } finally {
      clearInterval(sampler);
    }
  });

  it('stays a worker after its own server exists: another segment is refused, and so is a second server', async () => {
    const name = harness.name('second');
    harness.names.add(`${name}-other`);
    const server = harness.script(`${FIXTURES}second-server-in-worker.mjs`, [name]);
    const { outcome } = await server.waitFor('outcome', 30_000);
    expect(outcome).toEqual(['ERR_PHOENIX_INVALID_ARGUMENT', 'ERR_PHOENIX_INVALID_STATE']);
    await server.exited;
    expect(segmentsWithPrefix(`${name.slice(1)}-other`)).toEqual([]);
  });

  it('may run the supervisor of another segment when it says so with nestedSupervisor: true', async () => {
    const outer = harness.name('outer');
    harness.names.add(`${outer}-inner`);
    const server = harness.script(`${FIXTURES}nested-supervisor.mjs`, [outer]);
    await server.waitFor('ready', 30_000);
    server.send('call');
    expect((await server.waitFor('reply', 20_000)).reply).toBe('inner:hello');
    // Supervisor, its worker, the nested supervisor's worker.
    expect(descendants(server.pid)).toHaveLength(2);
    server.send('stop');
    await server.waitFor('stopped', 20_000);
    await server.exited;
    // The worker ran the inner supervisor: its segment goes with it.
    await waitUntil(() => descendants(server.pid).length === 0, 10_000, 'every process to end');
    expect(segmentsWithPrefix(outer.slice(1))).toEqual([]);
  });
});
