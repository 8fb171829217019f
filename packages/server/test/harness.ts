import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unlinkSegment } from '@phoenix-ipc/native-shm';
import { ProcessHarness, type ScriptProcess, shmEntriesWithPrefix, sleep } from '@phoenix-ipc/test-kit';
import type { IpcClient, IpcServer, PhoenixError, WorkerStats } from '../src/index.js';

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
  cluster(name: string, options: object = {}, env: NodeJS.ProcessEnv = {}): ScriptProcess {
    return this.script(CLUSTER_SCRIPT, [name, JSON.stringify(options)], env);
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
export function failure(promise: Promise<unknown>): Promise<PhoenixError> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: PhoenixError) => error,
  );
}

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
