import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { unlinkSegment } from '@phoenix-ipc/native-shm';
import type { NatsBridge, NatsCaller } from '../src/index.js';
import { NatsServer } from '../src/testing.js';

/** Real processes, real segments and a real nats-server, always cleaned up (even when a test fails). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const HOST_SCRIPT = `${FIXTURES}host.mjs`;
export const SERVICE = 'test';
export const SUBJECT = `phoenix.${SERVICE}.*`;

const PREFIX = `phx-nats-t${process.pid}-`;
let counter = 0;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` until true or `timeoutMs` passes (then throws with `what`). */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** pids of live processes whose environment or command line mentions `needle`. */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // zombie: dead, not yet reaped
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1');
      if (environ.includes(needle) || cmdline.includes(needle)) found.push(Number(entry));
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
    const childEnv = { ...process.env, ...env };
    delete childEnv.PHOENIX_IPC_WORKER;
    this.child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv });
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
  async waitFor(key: string, timeoutMs = 30_000, from = 0): Promise<Record<string, unknown>> {
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

  /** Sends `command` and waits for the next message with `key`. */
  async ask(command: string, key: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const from = this.messages.length;
    this.send(command);
    return this.waitFor(key, timeoutMs, from);
  }
}

export interface HostConfig {
  server?: Record<string, unknown>;
  bridge?: Record<string, unknown>;
}

/** Tracks everything a test creates and tears it all down. */
export class Harness {
  readonly names = new Set<string>();
  readonly scripts = new Set<ScriptProcess>();
  readonly natsServers = new Set<NatsServer>();
  readonly callers = new Set<NatsCaller>();
  readonly bridges = new Set<NatsBridge>();
  readonly connections = new Set<NatsConnection>();
  readonly directories = new Set<string>();

  name(tag = 'seg'): string {
    const name = `/${PREFIX}${tag}-${++counter}`;
    this.names.add(name);
    return name;
  }

  directory(): string {
    const path = mkdtempSync(join(tmpdir(), 'phoenix-nats-test-'));
    this.directories.add(path);
    return path;
  }

  async nats(options: Parameters<typeof NatsServer.start>[0] = {}): Promise<NatsServer> {
    const server = await NatsServer.start(options);
    this.natsServers.add(server);
    return server;
  }

  /** Starts a host (supervisor + workers + bridge) tagged `tag` and waits until it serves. */
  async host(nats: NatsServer, tag: string, config: HostConfig = {}): Promise<ScriptProcess> {
    const name = this.name(tag);
    const script = new ScriptProcess(HOST_SCRIPT, [name, nats.url, JSON.stringify(config)], { HOST_TAG: tag });
    this.scripts.add(script);
    await script.waitFor('ready');
    return script;
  }

  track<T extends NatsCaller | NatsBridge | NatsConnection>(value: T): T {
    if ('funcIds' in value) this.bridges.add(value as NatsBridge);
    else if ('callAsync' in value) this.callers.add(value as NatsCaller);
    else this.connections.add(value as NatsConnection);
    return value;
  }

  async cleanup(): Promise<void> {
    for (const caller of this.callers) await caller.close().catch(() => undefined);
    for (const bridge of this.bridges) await Promise.race([bridge.stop().catch(() => undefined), sleep(5000)]);
    for (const connection of this.connections) await connection.close().catch(() => undefined);
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
    for (const server of this.natsServers) await server.stop();
    for (const path of this.directories) rmSync(path, { recursive: true, force: true });
    this.names.clear();
    this.scripts.clear();
    this.natsServers.clear();
    this.callers.clear();
    this.bridges.clear();
    this.connections.clear();
    this.directories.clear();
  }
}
