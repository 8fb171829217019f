// A fixture process seen from the CLI: spawned with the run tag in its
// environment, JSON lines parsed from its stdout, commands written to its stdin.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onJsonLines } from '@phoenix-ipc/test-kit/json-lines';
import { PARENT_ENV, RUN_ENV } from './protocol.js';

export type Message = Record<string, unknown>;

let fixturePath: string | null = null;

/** dist/stress/fixtures/fixture.js, wherever the code that asks was bundled. */
export function fixtureScript(): string {
  if (fixturePath !== null) return fixturePath;
  const candidates = [
    './stress/fixtures/fixture.js',
    './fixtures/fixture.js',
    './fixture.js',
    '../fixtures/fixture.js',
  ];
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) {
      fixturePath = path;
      return path;
    }
  }
  throw new Error(`cannot find the stress fixture script next to ${fileURLToPath(import.meta.url)}; build with tsup`);
}

interface Waiter {
  predicate: (message: Message) => boolean;
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const STDERR_KEEP = 16 * 1024;
/**
 * Debugging aid: PHOENIX_STRESS_TRACE=<dir> appends every fixture's messages and stderr to <dir>/<label>.log.
 * The directory is made if missing: a trace that could not be written would end the run it was meant to explain.
 */
const TRACE_DIR = process.env.PHOENIX_STRESS_TRACE || undefined;
let traceCounter = 0;

function traceFile(label: string): string | null {
  if (TRACE_DIR === undefined) return null;
  if (traceCounter === 0) mkdirSync(TRACE_DIR, { recursive: true });
  return join(TRACE_DIR, `${++traceCounter}-${label.replace(/[^\w-]+/g, '_')}.log`);
}

export class FixtureProcess {
  readonly label: string;
  readonly child: ChildProcess;
  readonly messages: Message[] = [];
  readonly spawnedAt = Date.now();
  stderr = '';
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  readonly #waiters = new Set<Waiter>();
  readonly #listeners = new Set<(message: Message) => void>();
  readonly #trace: string | null;

  constructor(label: string, role: string, config: unknown, tag: string, execArgv: string[] = []) {
    this.label = label;
    this.#trace = traceFile(label);
    this.child = spawn(process.execPath, [...execArgv, fixtureScript(), role, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, [RUN_ENV]: tag, [PARENT_ENV]: String(process.pid) },
    });
    onJsonLines(this.child.stdout!, (message) => this.#deliver(message));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_KEEP);
      this.#traceLine(`stderr: ${chunk.trimEnd()}`);
    });
    // A child that died must not turn our writes to its stdin into an unhandled EPIPE.
    this.child.stdin!.on('error', () => {});
    this.child.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        this.#traceLine(`exit: ${signal ?? code}`);
        for (const waiter of this.#waiters) {
          clearTimeout(waiter.timer);
          waiter.reject(
            new Error(`${this.label} exited (${signal ?? `code ${code}`}) while awaited; stderr: ${this.stderrTail()}`),
          );
        }
        this.#waiters.clear();
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  stderrTail(chars = 800): string {
    const text = this.stderr.trim();
    return text.length > chars ? `...${text.slice(-chars)}` : text || '(empty)';
  }

  #traceLine(text: string): void {
    if (this.#trace !== null) appendFileSync(this.#trace, `${new Date().toISOString()} ${text}\n`);
  }

  #deliver(message: Message): void {
    this.#traceLine(`out: ${JSON.stringify(message)}`);
    this.messages.push(message);
    for (const listener of this.#listeners) listener(message);
    for (const waiter of this.#waiters) {
      if (waiter.predicate(message)) {
        clearTimeout(waiter.timer);
        this.#waiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  }

  onMessage(listener: (message: Message) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  send(command: Message): void {
    if (this.exit !== null || this.child.stdin!.destroyed) return;
    this.#traceLine(`in: ${JSON.stringify(command)}`);
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** The next message with `key` (or matching the predicate), looking at messages from index `from` on. */
  waitFor(key: string | ((message: Message) => boolean), timeoutMs: number, from = 0): Promise<Message> {
    const predicate = typeof key === 'string' ? (message: Message) => key in message : key;
    const seen = this.messages.slice(from).find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    const what = typeof key === 'string' ? `"${key}"` : 'a message';
    if (this.exit !== null) {
      return Promise.reject(
        new Error(
          `${this.label} exited (${this.exit.signal ?? `code ${this.exit.code}`}) before ${what}; stderr: ${this.stderrTail()}`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms; stderr: ${this.stderrTail()}`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Sends `command` and waits for the answer carrying `key`. */
  request(command: Message, key: string, timeoutMs: number): Promise<Message> {
    const from = this.messages.length;
    this.send(command);
    return this.waitFor(key, timeoutMs, from);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.exit !== null) return;
    try {
      this.child.kill(signal);
    } catch {
      // gone
    }
  }
}
