/**
 * `@phoenix-ipc/nats/testing`: a real nats-server for tests, on a free
 * loopback port, always stopped.
 *
 *   const nats = await NatsServer.start();   // finds the binary, waits until it accepts connections
 *   ... nats.url ...
 *   await nats.restart();                    // same port (reconnect tests)
 *   await nats.stop();                       // in afterEach/afterAll; idempotent
 *
 * The binary comes from NATS_SERVER_BIN, else PATH. A missing binary throws
 * an error that says how to install it (and where one lies off PATH, such as
 * Debian's /usr/sbin for a user whose PATH lacks it): tests that need NATS
 * fail, they are never silently skipped.
 *
 * Nothing outlives the test process: on Linux the server is started through
 * `setpriv --pdeathsig KILL` (it dies with its parent, even on SIGKILL), and
 * every server still running when the process exits gets SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const NATS_SERVER_INSTALL_HINT =
  'install nats-server: `sudo apt-get install -y nats-server` (Debian/Ubuntu), `brew install nats-server` (macOS), ' +
  'or a release from https://github.com/nats-io/nats-server/releases (scripts/install-nats-server.sh in the PhoenixIPC ' +
  'repository does the first two); or point NATS_SERVER_BIN at the binary';

/** Where installs put nats-server off a user's PATH: named in the error, never used unasked. */
const USUAL_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/opt/homebrew/bin', '/sbin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nats-server binary: NATS_SERVER_BIN, else the first on PATH. Throws how to install it. */
export function findNatsServer(): string {
  const configured = process.env.NATS_SERVER_BIN;
  if (configured !== undefined && configured !== '') {
    if (executable(configured)) return configured;
    throw new Error(`NATS_SERVER_BIN=${configured} is not an executable file; ${NATS_SERVER_INSTALL_HINT}`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '')) {
    const candidate = join(dir, 'nats-server');
    if (executable(candidate)) return candidate;
  }
  const offPath = USUAL_DIRS.map((dir) => join(dir, 'nats-server')).find(executable);
  if (offPath !== undefined) {
    throw new Error(
      `nats-server is not on PATH, but ${offPath} is: set NATS_SERVER_BIN=${offPath} or add ${offPath.slice(0, -'/nats-server'.length)} to PATH`,
    );
  }
  throw new Error(`nats-server not found (looked at NATS_SERVER_BIN and on PATH); ${NATS_SERVER_INSTALL_HINT}`);
}

export interface NatsServerOptions {
  /** The client port (default: a free one the server picks, `-p -1`). */
  port?: number;
  /** The server's max_payload in bytes (default: its own, 1 MiB). */
  maxPayload?: number;
  /** How long to wait for the server to accept connections (default 15000 ms). */
  startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

const PDEATHSIG_WRAPPER = '/usr/bin/setpriv';

function canonicalPort(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`port must be an integer from 1 to 65535, got ${String(value)}`);
  }
  return value;
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A nats-server process on 127.0.0.1 with HTTP monitoring on another free port. */
export class NatsServer {
  readonly binary: string;
  readonly maxPayload: number | undefined;
  #port: number;
  #monitorPort = 0;
  #child: ChildProcess | null = null;
  #log = '';
  #configDir: string | null = null;

  private constructor(binary: string, port: number, maxPayload: number | undefined) {
    this.binary = binary;
    this.#port = port;
    this.maxPayload = maxPayload;
  }

  /** Starts a nats-server and resolves once it accepts connections. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const server = new NatsServer(findNatsServer(), canonicalPort(options.port) ?? -1, options.maxPayload);
    await server.#launch(options.startTimeoutMs ?? 15_000);
    return server;
  }

  /** The client port. */
  get port(): number {
    return this.#port;
  }

  /** `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.#port}`;
  }

  /** The server's pid, or -1 when it is not running. */
  get pid(): number {
    return this.#child?.pid ?? -1;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** What the server logged (its last 64 KiB). */
  get log(): string {
    return this.#log;
  }

  async #launch(timeoutMs: number): Promise<void> {
    // A restart keeps the monitor's port too. Asked for any free port (-1), the monitor, which listens before the
    // clients' port does, could be given the clients' port the killed server has just freed, and the start fail.
    const monitorPort = this.#monitorPort > 0 ? String(this.#monitorPort) : '-1';
    const args = ['-a', '127.0.0.1', '-p', String(this.#port), '-m', monitorPort];
    if (this.maxPayload !== undefined) {
      this.#configDir ??= mkdtempSync(join(tmpdir(), 'phoenix-nats-'));
      const config = join(this.#configDir, 'nats-server.conf');
      writeFileSync(config, `max_payload: ${this.maxPayload}\n`);
      args.unshift('-c', config);
    }
    const wrapped = process.platform === 'linux' && executable(PDEATHSIG_WRAPPER);
    const child = wrapped
      ? spawn(PDEATHSIG_WRAPPER, ['--pdeathsig', 'KILL', '--', this.binary, ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    installExitHook();
    running.add(child);
    this.#child = child;
    child.once('exit', () => running.delete(child));
    let listening = false;
    let output = ''; // this launch's log (the ports change with each launch)
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.#log = (this.#log + text).slice(-65_536);
        if (listening) return;
        output += text;
        const monitor = /Starting http monitor on [^\s]*:(\d+)/.exec(output);
        const client = /Listening for client connections on [^\s]*:(\d+)/.exec(output);
        if (monitor !== null && client !== null && output.includes('Server is ready')) {
          listening = true;
          this.#monitorPort = Number(monitor[1]);
          this.#port = Number(client[1]);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`nats-server exited (code ${code}, signal ${signal}) before it was ready:\n${this.#log}`)),
      );
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      await ready;
      while (!(await acceptsConnections(this.#port))) await new Promise((resolve) => setTimeout(resolve, 10));
    } catch (error) {
      await this.stop();
      throw error instanceof Error && error.message.startsWith('nats-server')
        ? error
        : new Error(
            `nats-server (${this.binary}) did not start within ${timeoutMs} ms: ${String(error)}\n${this.#log}`,
          );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the server (SIGTERM, SIGKILL after 5 s) and waits until it has exited. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child !== null) {
      this.#child = null;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    }
    if (this.#configDir !== null) {
      rmSync(this.#configDir, { recursive: true, force: true });
      this.#configDir = null;
    }
  }

  /** Stops the server and starts it again on the same port (clients reconnect to it). */
  async restart(timeoutMs = 15_000): Promise<void> {
    const child = this.#child;
    if (child !== null) {
      this.#child = null;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL'); // like a crash: no lame-duck goodbye to the clients
        await exited;
      }
      running.delete(child);
    }
    await this.#launch(timeoutMs);
  }

  /** GET a monitoring endpoint (`/connz?subs=1`, `/varz`, ...) as JSON. */
  monitor<T = Record<string, unknown>>(path: string): Promise<T> {
    if (this.#child === null) return Promise.reject(new Error('the nats-server is not running'));
    return new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port: this.#monitorPort, path }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => {
          try {
            resolve(JSON.parse(body) as T);
          } catch (error) {
            reject(error);
          }
        });
      }).once('error', reject);
    });
  }

  /** How many client connections subscribe to exactly `subject` (for example 'phoenix.imaging.*'). */
  async subscribers(subject: string): Promise<number> {
    const connz = await this.monitor<{ connections?: { subscriptions_list?: string[] }[] }>('/connz?subs=1&limit=1024');
    return (connz.connections ?? []).filter((connection) => connection.subscriptions_list?.includes(subject)).length;
  }
}
