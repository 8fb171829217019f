/**
 * Real processes for tests: a fixture script that speaks JSON lines on
 * stdout, and a harness that tracks scripts and segment names and tears them
 * all down (kill, reap, unlink) even when a test fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { onJsonLines } from './json-lines.js';
import { sleep } from './wait.js';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ScriptOptions {
  /** The process's limit of open fds (soft and hard). */
  fdLimit?: number;
  /** Flags for node itself, before the script (V8 flags that NODE_OPTIONS refuses, say). */
  nodeArgs?: readonly string[];
}

// Lowers RLIMIT_NOFILE, then becomes the command (argv[1] is the limit, the rest the command).
const FD_LIMIT_EXEC =
  'import os, resource, sys; n = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_NOFILE, (n, n)); os.execv(sys.argv[2], sys.argv[2:])';

/** `argv` (an absolute command first) wrapped to run with at most `fdLimit` open fds; as is without a limit. */
export function withFdLimit(argv: readonly string[], fdLimit: number | undefined): string[] {
  return fdLimit === undefined ? [...argv] : ['python3', '-c', FD_LIMIT_EXEC, String(fdLimit), ...argv];
}

/** A child process (`node <script> ...args`) that speaks JSON lines on stdout. */
export class ScriptProcess {
  readonly child: ChildProcess;
  /** Every stdout line that parsed as a JSON object, in order. */
  readonly messages: Record<string, unknown>[] = [];
  stderr = '';
  exit: ExitStatus | null = null;
  readonly exited: Promise<ExitStatus>;

  /**
   * `env` is added to this process's environment; a key set to undefined is removed.
   * `fdLimit` starts it with RLIMIT_NOFILE lowered to that many fds (through python3, which CI has);
   * `nodeArgs` go to node before the script.
   */
  constructor(
    script: string,
    args: readonly string[],
    env: Record<string, string | undefined> = {},
    { fdLimit, nodeArgs = [] }: ScriptOptions = {},
  ) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete childEnv[key];
      else childEnv[key] = value;
    }
    const [command, ...commandArgs] = withFdLimit([process.execPath, ...nodeArgs, script, ...args], fdLimit);
    this.child = spawn(command!, commandArgs, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv });
    onJsonLines(this.child.stdout!, (message) => this.messages.push(message));
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

  /** Waits for a message with `key` (at or after index `from`) and returns it. */
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

  /**
   * Ends the process and reaps it: sends `command` first if given and allows
   * `graceMs` for a clean exit, then SIGKILL. Resolves once it has exited (or
   * 5 s after the SIGKILL, so cleanup never hangs).
   */
  async stop(command?: string, graceMs = 5000): Promise<void> {
    if (this.exit !== null) return;
    if (command !== undefined) {
      this.send(command);
      await Promise.race([this.exited, sleep(graceMs)]);
      if (this.exit !== null) return;
    }
    this.child.kill('SIGKILL');
    await Promise.race([this.exited, sleep(5000)]);
  }
}

/** pids of live processes (zombies excluded) whose environment, or with `cmdline` also command line, mentions `needle`. */
export function processesMentioning(needle: string, { cmdline = false }: { cmdline?: boolean } = {}): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue; // zombie: dead, not yet reaped
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) found.push(Number(entry));
      else if (cmdline && readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(needle)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Process state from /proc/<pid>/stat ('R', 'S', 'Z', ...), or null once the pid is gone. */
export function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** CPU time (user + system, in clock ticks of 1/100 s) the process has used so far. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** True once the process has exited: reaped, or a zombie waiting for its new parent (init) to reap it. */
export function hasExited(pid: number): boolean {
  const state = processState(pid);
  return state === null || state === 'Z' || state === 'X';
}

/** /dev/shm entries whose names start with `prefix`. */
export function shmEntriesWithPrefix(prefix: string): string[] {
  return readdirSync('/dev/shm').filter((entry) => entry.startsWith(prefix));
}

export interface ProcessHarnessOptions {
  /** Segment names are `/<prefix><tag>-<n>`: one prefix per package (and per test process). */
  prefix: string;
  /** Removes a segment by name (native-shm's unlinkSegment; the kit does not depend on native-shm). */
  unlinkSegment: (name: string) => void;
  /** Find a segment's leftover processes by command line as well as by environment. */
  matchCmdline?: boolean;
}

let counter = 0;

/**
 * Tracks the fixture scripts and segment names a test creates; cleanup() kills
 * and reaps the scripts, waits for (then kills) any process still carrying a
 * segment name, and unlinks the segments. Packages extend it with what else
 * they track (servers, clients, NATS connections).
 */
export class ProcessHarness {
  readonly names = new Set<string>();
  readonly scripts = new Set<ScriptProcess>();
  readonly #options: ProcessHarnessOptions;

  constructor(options: ProcessHarnessOptions) {
    this.#options = options;
  }

  /** A fresh segment name, unlinked on cleanup. */
  name(tag = 'seg'): string {
    const name = `/${this.#options.prefix}${tag}-${++counter}`;
    this.names.add(name);
    return name;
  }

  /** Starts `node <script> ...args`, killed and reaped on cleanup. */
  script(
    script: string,
    args: readonly string[],
    env: Record<string, string | undefined> = {},
    options: ScriptOptions = {},
  ): ScriptProcess {
    const started = new ScriptProcess(script, args, env, options);
    this.scripts.add(started);
    return started;
  }

  /** Kills and reaps every script, then the processes left mentioning a segment name, then unlinks the segments. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.scripts].map((script) => script.stop()));
    // Workers die with their supervisor (parent-death signal); give them a moment, then make sure.
    for (const name of this.names) {
      const deadline = Date.now() + 3000;
      const mentioning = () => processesMentioning(name, { cmdline: this.#options.matchCmdline ?? false });
      let pids = mentioning();
      while (pids.length > 0 && Date.now() < deadline) {
        await sleep(20);
        pids = mentioning();
      }
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      try {
        this.#options.unlinkSegment(name);
      } catch {
        // not ours, or gone
      }
    }
    this.names.clear();
    this.scripts.clear();
  }
}
