import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unlinkSegment } from '@phoenix-ipc/native-shm';
import type { IpcClient, IpcServer } from '@phoenix-ipc/server';

/** Real processes and real /dev/shm entries, always cleaned up (even when a test fails). */
export const KITCHEN_CLUSTER = fileURLToPath(new URL('./fixtures/kitchen-cluster.mjs', import.meta.url));

const PREFIX = `phx-svc${process.pid}-`;
let counter = 0;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** pids of live processes whose environment mentions `needle` (workers carry their segment name). */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** A supervisor in its own process (fixtures/kitchen-cluster.mjs), speaking JSON lines on stdout. */
export class ClusterProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #output = '';
  #stderr = '';

  constructor(name: string, options: object, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [KITCHEN_CLUSTER, name, JSON.stringify(options)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.#output += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** Waits for the supervisor's {"ready":true} line. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#output.includes('"ready":true')) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`the cluster exited before it was ready; stderr: ${this.#stderr}`);
      if (Date.now() > deadline)
        throw new Error(`the cluster was not ready in ${timeoutMs} ms; stderr: ${this.#stderr}`);
      await sleep(10);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.write('stop\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Tracks everything a test creates and tears it all down. */
export class Harness {
  readonly #names = new Set<string>();
  readonly #clusters = new Set<ClusterProcess>();
  readonly #servers = new Set<IpcServer>();
  readonly #clients = new Set<IpcClient>();

  name(tag = 'seg'): string {
    const name = `/${PREFIX}${tag}-${++counter}`;
    this.#names.add(name);
    return name;
  }

  cluster(name: string, options: object, env: NodeJS.ProcessEnv = {}): ClusterProcess {
    const cluster = new ClusterProcess(name, options, env);
    this.#clusters.add(cluster);
    return cluster;
  }

  server(server: IpcServer): IpcServer {
    this.#servers.add(server);
    return server;
  }

  client(client: IpcClient): IpcClient {
    this.#clients.add(client);
    return client;
  }

  async cleanup(): Promise<void> {
    for (const client of this.#clients) await client.disconnect().catch(() => undefined);
    for (const server of this.#servers) {
      await Promise.race([server.stop({ graceMs: 0 }).catch(() => undefined), sleep(5000)]);
    }
    for (const cluster of this.#clusters) await cluster.stop();
    // Workers die with their supervisor (parent-death signal); give them a moment, then make sure.
    for (const name of this.#names) {
      const deadline = Date.now() + 3000;
      let pids = processesMentioning(name);
      while (pids.length > 0 && Date.now() < deadline) {
        await sleep(20);
        pids = processesMentioning(name);
      }
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      try {
        unlinkSegment(name);
      } catch {
        // gone, or never created
      }
    }
    this.#names.clear();
    this.#clusters.clear();
    this.#servers.clear();
    this.#clients.clear();
  }
}
