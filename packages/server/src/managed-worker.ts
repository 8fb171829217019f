import { type WorkerChannel, WorkerState } from '@phoenix-ipc/shm-layout';
import { type CrashHistory, NO_CRASHES } from './crash-policy.js';
import type { WorkerProcess } from './worker-process.js';

/** Why a worker process is expected to exit; null means any exit is a crash. */
export type PlannedExit = 'stop' | 'retire' | null;

/** The supervisor's bookkeeping for one worker index (stable across restarts). */
export class ManagedWorker {
  readonly channel: WorkerChannel;
  child: WorkerProcess | null = null;
  pid = 0;
  ready = false;
  plannedExit: PlannedExit = null;
  /** The hang scan killed it: its death is reported with reason 'hang'. */
  killedForHang = false;
  /** Recent crashes: the crash-loop window and the backoff (crash-policy.ts). */
  crashHistory: CrashHistory = NO_CRASHES;
  restartTimer: NodeJS.Timeout | null = null;
  /** Left down after a crash loop, until restartWorkers(). */
  down = false;
  /** Resolves when the current process reports it is serving, or rejects if it exits first. */
  readyWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Resolves when the current process has exited. */
  exitWaiters: (() => void)[] = [];
  /** Why the current process said it cannot start (before it exits), if it did. */
  startFailure: string | null = null;
  /** A recycle was asked for (recycleAfter) and not yet done. */
  recycling = false;
  /** The supervisor's own copy of what it publishes in the segment (a broken peer may overwrite that). */
  state: WorkerState = WorkerState.Empty;
  crashes = 0;
  restarts = 0;
  /** The current process was a warm spare that took this index over. */
  fromSpare = false;

  constructor(channel: WorkerChannel) {
    this.channel = channel;
  }

  get globalIndex(): number {
    return this.channel.globalIndex;
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A new process serves this index: what was known of the previous one is forgotten. */
  bind(child: WorkerProcess, fromSpare: boolean): void {
    this.fromSpare = fromSpare;
    this.plannedExit = null;
    this.killedForHang = false;
    this.ready = false;
    this.startFailure = null;
    this.child = child;
    this.pid = child.pid ?? 0;
  }

  /** The current process reported it is serving. */
  markReady(): void {
    this.ready = true;
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
  }

  /** The current process exited: whoever waited for it to serve gets `startError`. */
  markExited(startError: Error): void {
    this.child = null;
    this.ready = false;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(startError);
    for (const waiter of this.exitWaiters.splice(0)) waiter();
  }

  cancelRestart(): void {
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = null;
  }

  /** Waits until the current process is serving. */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Waits until the current process has exited (at once if there is none). */
  whenExited(): Promise<void> {
    if (this.child === null) return Promise.resolve();
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }
}
