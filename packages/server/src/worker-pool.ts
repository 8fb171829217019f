/**
 * The worker processes' life: forking one for a worker index (its doorbell
 * fds numbered after the IPC channel, its role in one environment variable),
 * hearing what it says (ready, recycle, metrics, a corrupt slot, why it
 * cannot start), publishing its state, and noticing its exit. What an exit
 * means is not decided here: the supervisor gets onExit and asks the crash
 * policy.
 *
 * Forking (#fork) is kept apart from binding a process to an index (#bind):
 * a warm spare is forked with no index and bound later (adopt).
 */
import { processStartTime } from '@phoenix-ipc/native-shm';
import {
  type GroupName,
  type HungTransaction,
  PhoenixError,
  type PhoenixShmLayout,
  SlotState,
  type WorkerChannel,
  WorkerState,
} from '@phoenix-ipc/shm-layout';
import type { MetricsDelta } from './call-metrics.js';
import { DeathNotices } from './death-notices.js';
import { ManagedWorker } from './managed-worker.js';
import type { RecycleOptions } from './server-options.js';
import type { SpareProcess } from './spare-pool.js';
import { encodeWorkerEnvironment, type TakeMessage, WORKER_ENV, type WorkerEnvironment } from './worker-environment.js';
import { launchWorkerProcess, type WorkerProcess } from './worker-process.js';

/** Descriptors 0-2 are stdio, 3 the IPC channel; the doorbells follow. */
const FIRST_DOORBELL_FD = 4;
/** On every worker's and spare's command line: no V8 memory reducer (see #fork). */
const WORKER_V8_FLAG = '--no-memory-reducer';
/** How long a worker that died before serving may take to deliver why (its IPC channel's last message). */
const START_FAILURE_READ_MS = 250;

export interface WorkerLaunchOptions {
  name: string;
  epoch: number;
  /** Eventfds, one per worker then one per caller slot, inherited by every worker. */
  workerFds: readonly number[];
  slotFds: readonly number[];
  recycleAfter: RecycleOptions | undefined;
  replyBatch: number;
  workerMaxOldSpaceMb: number | undefined;
  /** Null: the supervisor's environment at each start. */
  workerEnv: Readonly<Record<string, string>> | null;
}

export interface WorkerPoolEvents {
  /** The worker serves. `isRestart`: its process replaced an earlier one. */
  onReady(worker: ManagedWorker, isRestart: boolean): void;
  /** The worker's process exited; waiters are settled and the worker has no process now. */
  onExit(worker: ManagedWorker, exit: WorkerExit): void;
  onRecycle(worker: ManagedWorker): void;
  onMetrics(delta: MetricsDelta, group: GroupName): void;
  onCorruptSlot(globalIndex: number, slot: number): void;
  /**
   * A process is about to attach to the segment (a worker taking an index,
   * a spare booting): put back what a broken peer overwrote first, since the
   * new process checks it as it attaches, and the heartbeat's repair may be
   * seconds away.
   */
  beforeAttach(): void;
}

export interface WorkerExit {
  pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  wasReady: boolean;
  plannedExit: ManagedWorker['plannedExit'];
}

type WorkerMessage = { t?: string; slot?: number; message?: string; delta?: MetricsDelta };

export class WorkerPool {
  /** By global index, stable across restarts. */
  readonly workers: ManagedWorker[];
  readonly #layout: PhoenixShmLayout;
  readonly #launch: WorkerLaunchOptions;
  readonly #events: WorkerPoolEvents;
  #workerPath = '';
  #workerArgs: string[] = [];
  /** Created with the first process (undefined until then; null where unsupported). */
  #deathNotices: DeathNotices | null | undefined;

  constructor(layout: PhoenixShmLayout, launch: WorkerLaunchOptions, events: WorkerPoolEvents) {
    this.#layout = layout;
    this.#launch = launch;
    this.#events = events;
    this.workers = layout.channels.map((channel) => new ManagedWorker(channel));
  }

  /** The script every worker runs, and its arguments. */
  setScript(workerPath: string, args: string[]): void {
    this.#workerPath = workerPath;
    this.#workerArgs = args;
  }

  /** Starts a process for `worker`'s index (the channel's next generation). */
  spawn(worker: ManagedWorker, isRestart: boolean): void {
    this.#events.beforeAttach();
    const channel = worker.channel;
    channel.generation = channel.generation + 1;
    this.#bind(worker, this.#fork(channel), isRestart, false);
  }

  /**
   * Hands `worker`'s index to a warm spare (spare-pool.ts): the spare is told
   * which channel to serve and starts on its backlog at once. Should it die
   * before it says 'ready', that is a crash of this index like any other.
   */
  adopt(worker: ManagedWorker, spare: SpareProcess, isRestart: boolean): void {
    this.#events.beforeAttach();
    const channel = worker.channel;
    channel.generation = channel.generation + 1;
    const child = spare.child;
    this.#bind(worker, child, isRestart, true);
    const take: TakeMessage = {
      t: 'take',
      group: channel.group,
      index: channel.index,
      globalIndex: channel.globalIndex,
      generation: channel.generation,
    };
    try {
      child.send(take);
    } catch {
      child.kill('SIGKILL'); // its exit is this index's crash
    }
  }

  /** Forks a process of the worker script in the spare role (no index yet). */
  forkSpare(): WorkerProcess {
    this.#events.beforeAttach();
    return this.#fork(null);
  }

  #bind(worker: ManagedWorker, child: WorkerProcess, isRestart: boolean, fromSpare: boolean): void {
    const channel = worker.channel;
    worker.bind(child, fromSpare);
    channel.pid = worker.pid;
    channel.pidStartTime = worker.pid > 0 ? (processStartTime(worker.pid) ?? 0) : 0;
    this.setState(worker, WorkerState.Starting);
    channel.restartAt = 0;
    if (isRestart) channel.restarts = ++worker.restarts;
    this.#layout.bumpWorkerEpoch();
    child.on('message', (message: WorkerMessage) => {
      if (worker.child === child) this.#onMessage(worker, message, isRestart);
    });
    child.on('error', (error: Error) => {
      // A spawn failure surfaces as an exit too; its cause (EMFILE, EAGAIN...) goes into that exit's error.
      if (worker.child === child && !worker.ready) worker.startFailure = error.message.slice(0, 2000);
    });
    // A serving worker killed by a signal is handled as soon as it begins to
    // die, not once the kernel has torn it down (death-notices.ts): it will
    // never run again. One that exits by itself may have said why on its
    // channel (a corrupt ring), so its exit proper is awaited, as are starts
    // that failed and planned exits.
    child.once('dying', (code: number | null, signal: NodeJS.Signals | null) => {
      if (worker.child === child && worker.ready && worker.plannedExit === null && signal !== null)
        this.#exited(worker, code, signal);
    });
    child.once('exit', (code, signal) => {
      if (worker.child !== child) return;
      if (worker.ready || !child.connected) {
        this.#exited(worker, code, signal);
        return;
      }
      // It died before serving: it may have said why on its IPC channel, and
      // that message is read before the channel reports its end.
      let timer: NodeJS.Timeout | undefined;
      const exited = () => {
        clearTimeout(timer);
        child.removeListener('disconnect', exited);
        if (worker.child === child) this.#exited(worker, code, signal);
      };
      child.once('disconnect', exited);
      timer = setTimeout(exited, START_FAILURE_READ_MS);
    });
  }

  /** Runs `start` (the replacement of `worker`) after `delayMs`; cancelled by cancelRestart(). */
  restartAfter(worker: ManagedWorker, delayMs: number, start: () => void): void {
    worker.restartTimer = setTimeout(() => {
      worker.restartTimer = null;
      start();
    }, delayMs);
  }

  /** Publishes a worker's state (kept in the worker too: the segment's copy may be overwritten). */
  setState(worker: ManagedWorker, state: WorkerState): void {
    worker.state = state;
    worker.channel.state = state;
  }

  /** Resolves when every worker serves; rejects on the first that cannot, or after `timeoutMs`. */
  allReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new PhoenixError('ERR_PHOENIX_WORKER_START_FAILED', `workers did not start serving within ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      Promise.all(this.workers.map((worker) => worker.whenReady())).then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  whenAllExited(): Promise<void> {
    return Promise.all(this.workers.map((worker) => worker.whenExited())).then(() => undefined);
  }

  // Asks a worker to finish its current request and exit; the supervisor's onExit starts the replacement.
  async retire(worker: ManagedWorker): Promise<void> {
    const child = worker.child;
    if (child === null) return;
    worker.plannedExit = 'retire';
    this.setState(worker, WorkerState.Retiring);
    this.#layout.bumpWorkerEpoch();
    askToStop(child);
    await worker.whenExited();
  }

  /** Asks every worker to finish its current request and exit; kills those still there after `exitWaitMs`. */
  async stopAll(exitWaitMs: number): Promise<void> {
    for (const worker of this.workers) {
      const child = worker.child;
      if (child === null) continue;
      worker.plannedExit = 'stop';
      askToStop(child);
    }
    const exited = this.whenAllExited();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), exitWaitMs);
    });
    const outcome = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.killAll();
      await exited;
    }
  }

  /** A request runs, or one is queued to a live worker by an active caller. */
  busy(): boolean {
    const layout = this.#layout;
    for (const channel of layout.channels) {
      if (channel.monitors.some((monitor) => monitor.isProcessing())) return true;
      if (!this.workers[channel.globalIndex]!.alive) continue;
      for (const slot of layout.slots) {
        if (slot.state !== SlotState.Active) continue;
        try {
          if (channel.attachRequestRing(slot.index).size() > 0) return true;
        } catch {
          // corrupt: nothing will drain it
        }
      }
    }
    return false;
  }

  /** The pool is done (its processes are gone or going): early death notices end. */
  close(): void {
    this.#deathNotices?.close();
    this.#deathNotices = null;
  }

  killAll(): void {
    for (const worker of this.workers) worker.child?.kill('SIGKILL');
  }

  cancelRestarts(): void {
    for (const worker of this.workers) worker.cancelRestart();
  }

  // A confirmed hang: kill the process that runs it, once, unless it has
  // been replaced since (the published pid is another process's).
  killForHang(hung: HungTransaction): void {
    const channel = this.#layout.getChannel(hung.group, hung.workerIndex);
    const worker = this.workers[channel.globalIndex]!;
    if (worker.child !== null && !worker.killedForHang && worker.pid === channel.pid) {
      worker.killedForHang = true;
      worker.child.kill('SIGKILL');
    }
  }

  // `channel` null: a spare, which learns its index later ({t:'take'}).
  #fork(channel: WorkerChannel | null): WorkerProcess {
    const { workerFds, slotFds } = this.#launch;
    const environment: WorkerEnvironment = {
      name: this.#launch.name,
      epoch: this.#launch.epoch,
      group: channel?.group ?? 'normal',
      index: channel?.index ?? -1,
      globalIndex: channel?.globalIndex ?? -1,
      generation: channel?.generation ?? 0,
      ...(channel === null ? { spare: true } : {}),
      supervisorPid: process.pid,
      workerFds: workerFds.map((_, i) => FIRST_DOORBELL_FD + i),
      slotFds: slotFds.map((_, i) => FIRST_DOORBELL_FD + workerFds.length + i),
      recycleAfter: this.#launch.recycleAfter,
      replyBatch: this.#launch.replyBatch,
    };
    // An idle worker or spare must cost nothing, and V8's memory reducer
    // compacts every Node heap ~8 s after its process goes idle: 20-45 ms of
    // CPU per worker, whatever the worker did. V8 decides whether a heap has
    // a reducer when it sets the heap up, so the flag goes on the command line
    // (set at run time it changes nothing). Measured on Node 20, this flag
    // costs a start nothing, where --no-memory-reducer-for-small-heaps costs
    // 17-20 ms of CPU, on the command line or set before the script loads.
    // First, so that a --memory-reducer among the supervisor's own flags wins
    // (docs/tuning.md, "V8's memory reducer").
    const execArgv = [WORKER_V8_FLAG, ...process.execArgv];
    if (this.#launch.workerMaxOldSpaceMb !== undefined)
      execArgv.push(`--max-old-space-size=${this.#launch.workerMaxOldSpaceMb}`);
    return launchWorkerProcess({
      script: this.#workerPath,
      args: this.#workerArgs,
      execArgv,
      env: { ...(this.#launch.workerEnv ?? process.env), [WORKER_ENV]: encodeWorkerEnvironment(environment) },
      fds: [...workerFds, ...slotFds],
      deathNotices: this.#notices(),
    });
  }

  #notices(): DeathNotices | null {
    if (this.#deathNotices === undefined) this.#deathNotices = DeathNotices.create();
    return this.#deathNotices;
  }

  #onMessage(worker: ManagedWorker, message: WorkerMessage, isRestart: boolean): void {
    if (message?.t === 'ready') this.#onReady(worker, isRestart);
    else if (message?.t === 'recycle') this.#events.onRecycle(worker);
    else if (message?.t === 'metrics' && message.delta !== undefined)
      this.#events.onMetrics(message.delta, worker.channel.group);
    else if (message?.t === 'corrupt-slot' && typeof message.slot === 'number')
      this.#events.onCorruptSlot(worker.globalIndex, message.slot);
    else if (message?.t === 'start-failed' && typeof message.message === 'string')
      worker.startFailure = message.message.slice(0, 2000);
  }

  #onReady(worker: ManagedWorker, isRestart: boolean): void {
    this.setState(worker, WorkerState.Running);
    this.#layout.bumpWorkerEpoch();
    worker.markReady();
    this.#events.onReady(worker, isRestart);
  }

  #exited(worker: ManagedWorker, exitCode: number | null, signal: NodeJS.Signals | null): void {
    const channel = worker.channel;
    const exit: WorkerExit = {
      pid: worker.pid,
      exitCode,
      signal,
      wasReady: worker.ready,
      plannedExit: worker.plannedExit,
    };
    const because = worker.startFailure === null ? '' : `: ${worker.startFailure}`;
    worker.markExited(
      new PhoenixError(
        'ERR_PHOENIX_WORKER_START_FAILED',
        `worker ${channel.group}[${channel.index}] (pid ${exit.pid}) exited before serving (${signal ?? `code ${exitCode}`})${because}`,
      ),
    );
    this.#events.onExit(worker, exit);
  }
}

// A polite stop: the worker finishes its request first. A broken IPC channel
// leaves only SIGKILL.
function askToStop(child: WorkerProcess): void {
  try {
    child.send({ t: 'stop' });
  } catch {
    child.kill('SIGKILL');
  }
}
