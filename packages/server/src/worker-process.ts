/**
 * A worker's process as the supervisor sees it: its pid, its IPC channel
 * (JSON messages, as child_process.fork's), its exit.
 *
 * On Linux it is started with posix_spawn (native-shm's spawnProcess), not
 * child_process.fork: libuv's fork blocks the supervisor's event loop until
 * the child has exec'd, which on a loaded machine is 7-50 ms per start, while
 * the supervisor should be noticing crashes and handing channels to spares.
 * The channel is a socket pair whose child end is fd 3 with NODE_CHANNEL_FD
 * set, so the worker's `process.send`/`process.on('message')` work as under
 * fork; the exit comes from a pidfd. Elsewhere (no pidfd) it is a fork.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import {
  closeFd,
  createChannelPair,
  exitStatusOf,
  FdWatcher,
  openPidFd,
  reapChild,
  spawnProcess,
} from '@phoenix-ipc/native-shm';
import { PhoenixError } from '@phoenix-ipc/shm-layout';
import type { DeathNotices } from './death-notices.js';
import { DEATH_WATCH_ENV } from './worker-environment.js';

/**
 * What the supervisor uses of a worker process: child_process.ChildProcess
 * has this shape too. Events: 'message' (a parsed message), 'exit' (code,
 * signal), 'disconnect' (the channel closed), 'error', and, from processes
 * watched by DeathNotices only, 'dying' (code, signal): the process began to
 * exit and will never run again; 'exit' follows once it is reaped.
 */
export interface WorkerProcess extends EventEmitter {
  readonly pid: number | undefined;
  /** The IPC channel is open. */
  readonly connected: boolean;
  /** Set once the process has exited (and been reaped). */
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  /** Sends a message; throws when the channel is closed. */
  send(message: unknown): boolean;
  /** Signals the process unless it has exited; false if it could not be signalled. */
  kill(signal?: NodeJS.Signals): boolean;
}

export interface WorkerLaunch {
  script: string;
  args: readonly string[];
  execArgv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** The worker gets these as fds 4, 5, ... (3 is the IPC channel). */
  fds: readonly number[];
  /** Early death notices for this process, where the platform has them. */
  deathNotices?: DeathNotices | null;
}

let pidFdsWork: boolean | undefined;

/**
 * Starts a worker process. It never throws: a process that could not be
 * started (no more processes or fds, say) emits 'error' and then 'exit'
 * (code 127), so the crash policy's backoff applies to it like to any start
 * that failed.
 */
export function launchWorkerProcess(launch: WorkerLaunch): WorkerProcess {
  if (pidFdsWork === undefined) pidFdsWork = probePidFds();
  try {
    if (!pidFdsWork) {
      return fork(launch.script, [...launch.args], {
        execArgv: [...launch.execArgv],
        env: launch.env,
        stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...launch.fds],
        serialization: 'json',
      }) as ChildProcess & WorkerProcess;
    }
    return new SpawnedWorkerProcess(launch);
  } catch (error) {
    return new UnstartedWorkerProcess(PhoenixError.from(error, 'ERR_PHOENIX_WORKER_START_FAILED'));
  }
}

// pidfd_open needs Linux 5.3; where it is missing, fork it is.
function probePidFds(): boolean {
  const fd = openPidFd(process.pid);
  if (fd < 0) return false;
  closeFd(fd);
  return true;
}

class SpawnedWorkerProcess extends EventEmitter implements WorkerProcess {
  readonly pid: number = 0;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  connected = true;
  readonly #channel: Socket;
  readonly #pidFd: number;
  readonly #exitWatcher: FdWatcher;
  #reaped = false;
  #partial = '';
  readonly #deathNotices: DeathNotices | null;
  readonly #deathSlot: number | null;

  constructor(launch: WorkerLaunch) {
    super();
    this.#deathNotices = launch.deathNotices ?? null;
    this.#deathSlot = this.#deathNotices?.allocate(this) ?? null;
    const env: Record<string, string | undefined> = {
      ...launch.env,
      NODE_CHANNEL_FD: '3',
      NODE_CHANNEL_SERIALIZATION_MODE: 'json',
    };
    const fds = [...launch.fds];
    if (this.#deathSlot !== null) {
      // The memfd comes last: fd 4 + launch.fds.length in the worker.
      env[DEATH_WATCH_ENV] = `${4 + fds.length}:${this.#deathSlot}`;
      fds.push(this.#deathNotices!.fd);
    }
    const [ours, theirs] = createChannelPair();
    try {
      this.pid = spawnProcess({
        file: process.execPath,
        args: [...launch.execArgv, launch.script, ...launch.args],
        env,
        fds: [theirs, ...fds],
      });
    } catch (error) {
      closeFd(ours);
      if (this.#deathSlot !== null) this.#deathNotices!.release(this.#deathSlot);
      throw error;
    } finally {
      closeFd(theirs);
    }
    let pidFd = -1;
    try {
      pidFd = openPidFd(this.pid);
      this.#exitWatcher = new FdWatcher(pidFd, this.#onPidFdReadable, { drain: false });
    } catch (error) {
      // Out of fds or memory, say: a child we could not watch must not live on unseen.
      if (pidFd >= 0) closeFd(pidFd);
      closeFd(ours);
      process.kill(this.pid, 'SIGKILL');
      reapWhenEnded(this.pid);
      if (this.#deathSlot !== null) this.#deathNotices!.release(this.#deathSlot);
      throw error;
    }
    this.#pidFd = pidFd;
    this.#exitWatcher.start();
    this.#channel = new Socket({ fd: ours, readable: true, writable: true });
    this.#channel.setEncoding('utf8');
    this.#channel.on('data', this.#onData);
    this.#channel.on('error', () => this.#channel.destroy()); // the worker died mid-write: 'close' follows
    this.#channel.on('close', this.#onChannelClosed);
  }

  send(message: unknown): boolean {
    if (!this.connected) throw new PhoenixError('ERR_PHOENIX_PEER_GONE', `worker ${this.pid}'s IPC channel is closed`);
    return this.#channel.write(`${JSON.stringify(message)}\n`);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    // Once reaped, the pid may be another process's.
    if (this.#reaped) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** DeathNotices: the main thread began to exit. How it will end is already known to the kernel. */
  onDying(): void {
    if (this.#reaped) return;
    const status = exitStatusOf(this.pid);
    if (status !== null) this.emit('dying', status.code, status.signal);
  }

  // Node's JSON channel: one JSON text per line. Messages Node itself sends
  // (cmd: 'NODE_...') are not the application's.
  readonly #onData = (chunk: string): void => {
    // Whatever the worker says, it says after taking its death-watch slot.
    if (this.#deathSlot !== null) this.#deathNotices!.arm(this.#deathSlot);
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        continue; // not a message; the worker's code is not ours to trust
      }
      const cmd = (message as { cmd?: unknown } | null)?.cmd;
      if (typeof cmd === 'string' && cmd.startsWith('NODE_')) continue;
      this.emit('message', message);
    }
  };

  readonly #onChannelClosed = (): void => {
    if (!this.connected) return;
    this.connected = false;
    this.emit('disconnect');
  };

  readonly #onPidFdReadable = (): void => {
    let outcome: ReturnType<typeof reapChild>;
    try {
      outcome = reapChild(this.pid);
    } catch {
      outcome = { code: null, signal: null }; // reaped by someone else: it is gone, how is unknown
    }
    if (outcome === null) return; // not ended yet
    this.#reaped = true;
    this.#exitWatcher.close();
    closeFd(this.#pidFd);
    this.exitCode = outcome.code;
    this.signalCode = outcome.signal;
    if (this.#deathSlot !== null) this.#deathNotices!.release(this.#deathSlot);
    // Like fork's: 'exit' first; the channel ends when its last data has been read.
    this.emit('exit', outcome.code, outcome.signal);
  };
}

/** The process that could not be started: it "exits" on the next turn, having said why. */
class UnstartedWorkerProcess extends EventEmitter implements WorkerProcess {
  readonly pid = 0;
  readonly connected = false;
  exitCode: number | null = null;
  readonly signalCode = null;

  constructor(error: PhoenixError) {
    super();
    setImmediate(() => {
      this.exitCode = EXIT_NOT_STARTED;
      if (this.listenerCount('error') > 0) this.emit('error', error);
      this.emit('exit', EXIT_NOT_STARTED, null);
    });
  }

  send(): boolean {
    throw new PhoenixError('ERR_PHOENIX_PEER_GONE', 'the worker process could not be started');
  }

  kill(): boolean {
    return false;
  }
}

// Reaps a SIGKILLed child that has no pidfd to say when it has ended.
function reapWhenEnded(pid: number): void {
  const timer = setInterval(() => {
    try {
      if (reapChild(pid) === null) return;
    } catch {
      // not ours any more
    }
    clearInterval(timer);
  }, 10);
  timer.unref();
}

/** The exit code of a process that could not be started (a shell's "command not found"). */
const EXIT_NOT_STARTED = 127;
