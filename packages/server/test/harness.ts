import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unlinkSegment } from '@phoenix-ipc/native-shm';
import {
  ProcessHarness,
  phoenixFailure,
  type ScriptOptions,
  type ScriptProcess,
  shmEntriesWithPrefix,
  sleep,
  waitUntil,
} from '@phoenix-ipc/test-kit';
import { expect } from 'vitest';
import type { IpcClient, IpcServer, PhoenixError, WorkerStats } from '../src/index.js';
import { EXITS, LOG_ONCE, SLEEP_SYNC } from './fixtures/handlers.mjs';

/** Real processes and real /dev/shm entries, always cleaned up (even when a test fails). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const WORKER_SCRIPT = `${FIXTURES}worker.mjs`;
export const CLUSTER_SCRIPT = `${FIXTURES}cluster.mjs`;
export const CLIENT_SCRIPT = `${FIXTURES}client.mjs`;

const PREFIX = `phx-t${process.pid}-`;

export function segmentsWithPrefix(prefix = PREFIX): string[] {
  return shmEntriesWithPrefix(prefix);
}

/** Tracks everything a test creates (segments, scripts, in-process servers and clients) and tears it all down. */
export class Harness extends ProcessHarness {
  readonly servers = new Set<IpcServer>();
  readonly clients = new Set<IpcClient>();

  constructor() {
    super({ prefix: PREFIX, unlinkSegment });
  }

  /** A supervisor in its own process (fixtures/cluster.mjs). */
  cluster(name: string, options: object = {}, env: NodeJS.ProcessEnv = {}, script: ScriptOptions = {}): ScriptProcess {
    return this.script(CLUSTER_SCRIPT, [name, JSON.stringify(options)], env, script);
  }

  track<T extends IpcServer | IpcClient>(value: T): T {
    if ('isWorker' in value) this.servers.add(value as IpcServer);
    else this.clients.add(value as IpcClient);
    return value;
  }

  override async cleanup(): Promise<void> {
    for (const client of this.clients) await client.disconnect().catch(() => undefined);
    await Promise.all(
      [...this.servers].map((server) =>
        Promise.race([server.stop({ graceMs: 0 }).catch(() => undefined), sleep(5000)]),
      ),
    );
    this.servers.clear();
    this.clients.clear();
    await super.cleanup();
  }
}

/** Workers (of `group`, or all) running a request now: the observable "busy" of getWorkerStats. */
export function busyWorkers(server: IpcServer, group?: 'normal' | 'vip'): number {
  return server.getWorkerStats().filter((s) => s.inFlightSeqId !== 0 && (group === undefined || s.group === group))
    .length;
}

/** True once no worker runs a request and nothing is queued: every transaction has ended. */
export function allIdle(server: IpcServer): boolean {
  return server.getWorkerStats().every((s) => s.inFlightSeqId === 0 && s.queueDepth === 0);
}

/** A cluster fixture's worker stats (asks it on stdin). */
export async function clusterStats(cluster: ScriptProcess): Promise<WorkerStats[]> {
  return (await cluster.ask('stats', 'stats')).stats as WorkerStats[];
}

/** The error a call (or any promise) fails with; fails the test if it succeeds. */
export const failure = phoenixFailure;

/** How many times each request ran, from a LOG_ONCE log file ("<id>\n" per run). */
export function runCounts(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  let content = '';
  try {
    content = readFileSync(path, 'utf8');
  } catch {
    return counts;
  }
  for (const id of content.split('\n').filter(Boolean)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * The crash-recovery scene: `busy` workers held by SLEEP_SYNC(holdMs), then a
 * poison (EXITS) and `count` LOG_ONCE calls queued behind it. Resolves once
 * every call has settled, with the poison's error and the replies in order.
 */
export async function poisonBehindBacklog(
  server: IpcServer,
  log: string,
  { count, busy = 1, holdMs = 150 }: { count: number; busy?: number; holdMs?: number },
): Promise<{ poison: PhoenixError; replies: string[] }> {
  const holds = Array.from({ length: busy }, () => server.call(SLEEP_SYNC, String(holdMs), { timeoutMs: 10_000 }));
  await waitUntil(() => busyWorkers(server) === busy, 10_000, 'the holds to be running');
  const poison = failure(server.call(EXITS, '', { timeoutMs: 10_000 }));
  const queued = Array.from({ length: count }, (_, i) => server.call(LOG_ONCE, `${log}\t${i}`, { timeoutMs: 20_000 }));
  await Promise.all(holds);
  const replies = await Promise.all(queued);
  const text = new TextDecoder();
  return { poison: await poison, replies: replies.map((reply) => text.decode(reply.payload)) };
}

/** Every id 0..count-1 of a LOG_ONCE log ran exactly once. */
export function expectEachRanOnce(log: string, count: number): void {
  const counts = runCounts(log);
  expect(counts.size).toBe(count);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
}
