import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unlinkSegment } from '@phoenix-ipc/native-shm';
import type { IpcClient, IpcServer } from '../src/index.js';

/** Real processes and real /dev/shm entries, always cleaned up (even when a test fails). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const WORKER_SCRIPT = `${FIXTURES}worker.mjs`;
export const CLUSTER_SCRIPT = `${FIXTURES}cluster.mjs`;
export const CLIENT_SCRIPT = `${FIXTURES}client.mjs`;

const PREFIX = `phx-t${process.pid}-`;
let counter = 0;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` until true or `timeoutMs` passes (then throws with `what`). */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** pids of processes whose environment mentions `needle` (our workers carry the segment name). */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // zombie: dead, not yet reaped
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

export function segmentsWithPrefix(prefix = PREFIX): string[] {
  return readdirSync('/dev/shm').filter((entry) => entry.startsWith(prefix));
}

/** A child process that speaks JSON lines on stdout. */
export class ScriptProcess {
  readonly child: ChildProcess;
  readonly messages: Record<string, unknown>[] = [];
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let buffered = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('{')) {
          try {
            this.messages.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not ours
          }
        }
        newline = buffered.indexOf('\n');
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Waits for a message with `key` (after index `from`) and returns it. */
  async waitFor(key: string, timeoutMs = 20_000, from = 0): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find((message) => key in message);
      if (found !== undefined) return found;
      if (this.exit !== null)
        throw new Error(`process exited (${JSON.stringify(this.exit)}) before "${key}"; stderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no "${key}" within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await sleep(5);
    }
  }
}

/** Tracks everything a test creates and tears it all down. */
export class Harness {
  readonly names = new Set<string>();
  readonly scripts = new Set<ScriptProcess>();
  readonly servers = new Set<IpcServer>();
  readonly clients = new Set<IpcClient>();

  name(tag = 'seg'): string {
    const name = `/${PREFIX}${tag}-${++counter}`;
    this.names.add(name);
    return name;
  }

  script(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ScriptProcess {
    const process = new ScriptProcess(script, args, env);
    this.scripts.add(process);
    return process;
  }

  cluster(name: string, options: object = {}, env: NodeJS.ProcessEnv = {}): ScriptProcess {
    return this.script(CLUSTER_SCRIPT, [name, JSON.stringify(options)], env);
  }

  track<T extends IpcServer | IpcClient>(value: T): T {
    if ('isWorker' in value) this.servers.add(value as IpcServer);
    else this.clients.add(value as IpcClient);
    return value;
  }

  async cleanup(): Promise<void> {
    for (const client of this.clients) await client.disconnect().catch(() => undefined);
    await Promise.all(
      [...this.servers].map((server) =>
        Promise.race([server.stop({ graceMs: 0 }).catch(() => undefined), sleep(5000)]),
      ),
    );
    for (const script of this.scripts) if (script.exit === null) script.child.kill('SIGKILL');
    await Promise.all([...this.scripts].map((script) => Promise.race([script.exited, sleep(5000)])));
    // Workers die with their supervisor (parent-death signal); give them a moment, then make sure.
    for (const name of this.names) {
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
        // not ours, or gone
      }
    }
    this.names.clear();
    this.scripts.clear();
    this.servers.clear();
    this.clients.clear();
  }
}
