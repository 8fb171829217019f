/**
 * What the supervisor does when a worker's process exits. The crash policy
 * (crash-policy.ts) gives the verdicts; this part carries them out: it
 * publishes the worker's state, recovers the dead worker's requests and
 * answers their callers, tells every caller the worker is down, reports the
 * crash, and starts the replacement: after the backoff, after its corrupt
 * channels are reformatted, or never (a crash loop leaves it down). The
 * replacement is a warm spare when one is ready (spare-pool.ts).
 */
import type { CallerEngine } from '@phoenix-ipc/client/internal';
import {
  monotonicNowMs,
  type PhoenixError,
  type PhoenixShmLayout,
  SUPERVISOR_SLOT,
  WorkerState,
} from '@phoenix-ipc/shm-layout';
import type { CallMetrics } from './call-metrics.js';
import type { ClientAdmission } from './client-admission.js';
import {
  classifyExit,
  crashReason,
  type ExitContext,
  forgiveCrashes,
  isCrashLooping,
  recordCrash,
  restartDelayMs,
  routeExit,
  spareDelayMs,
  type WorkerCrashInfo,
} from './crash-policy.js';
import type { ManagedWorker } from './managed-worker.js';
import { type CorruptChannels, corruptSlotsOf, resetChannels } from './segment-repair.js';
import type { ServerEvents } from './server-events.js';
import type { ResolvedServerOptions } from './server-options.js';
import type { SparePool } from './spare-pool.js';
import type { WorkerExit, WorkerPool } from './worker-pool.js';
import { failQueuedIfGroupDown, type RecoveryOutcome, recoverCrashedWorker } from './worker-recovery.js';

export interface WorkerExitHandlerOptions {
  layout: PhoenixShmLayout;
  options: ResolvedServerOptions;
  pool: WorkerPool;
  clients: ClientAdmission;
  corrupt: CorruptChannels;
  /** 'workerCrash' goes here. */
  events: ServerEvents;
  metrics: CallMetrics;
  state: () => ExitContext['serverState'];
  /** The supervisor's own caller, once it has one. */
  engine: () => CallerEngine | null;
  /** Warm spares: a replacement takes one when it can. */
  spares: SparePool;
}

export class WorkerExitHandler {
  readonly #parts: WorkerExitHandlerOptions;

  constructor(parts: WorkerExitHandlerOptions) {
    this.#parts = parts;
  }

  onExit(worker: ManagedWorker, exit: WorkerExit): void {
    const { layout, pool, state } = this.#parts;
    const route = routeExit({ serverState: state(), plannedExit: exit.plannedExit, wasReady: exit.wasReady });
    if (route === 'start-failure') return; // start() sees the rejection and tears everything down
    if (route === 'crashed') {
      this.#crashed(worker, exit);
      return;
    }
    pool.setState(worker, route === 'stopped' ? WorkerState.Stopped : WorkerState.Restarting);
    layout.bumpWorkerEpoch();
    this.#recover(worker, crashInfo(worker, exit, 'exit'), false);
    if (route === 'stopped') return;
    // Retired: nothing crashed, the replacement starts at once.
    this.#workerDown(worker.globalIndex);
    this.replace(worker);
  }

  /**
   * Starts the process that serves `worker`'s index next: a ready warm spare,
   * else the next spare that finishes booting, else a fresh process.
   */
  replace(worker: ManagedWorker, ringsChecked = false): void {
    if (!this.#mayStart()) return;
    const { spares, pool, layout, clients } = this.#parts;
    // A broken peer may have written over a ring header since the crash's recovery looked. The replacement
    // would die of it as it attaches, and while no serving worker has the channel the heartbeat does not look:
    // it starts on a fresh format instead. Once: a header written over again meanwhile is the replacement's to
    // report, never a reason to reset again and again.
    const corrupt = ringsChecked ? [] : corruptSlotsOf(layout, worker.channel, clients.isActive);
    if (corrupt.length > 0) {
      void resetChannels(layout, worker.channel, corrupt, this.#parts.engine(), clients).then(() =>
        this.replace(worker, true),
      );
      return;
    }
    const group = worker.channel.group;
    const spare = spares.take(group);
    if (spare !== null) {
      pool.adopt(worker, spare, true);
      return;
    }
    const waiting = spares.takeWhenReady(group, (booted) => {
      if (!this.#mayStart() || worker.child !== null) {
        booted?.child.kill('SIGKILL'); // nobody needs it any more (stopping, or the index was started meanwhile)
        return;
      }
      if (booted !== null) pool.adopt(worker, booted, true);
      else pool.spawn(worker, true);
    });
    if (!waiting) pool.spawn(worker, true);
  }

  /** restartWorkers(): the worker's crash-loop window and backoff start afresh. */
  forgive(worker: ManagedWorker): void {
    worker.crashHistory = forgiveCrashes(worker.crashHistory);
    worker.cancelRestart();
  }

  #crashed(worker: ManagedWorker, exit: WorkerExit): void {
    const { layout, options, pool, corrupt } = this.#parts;
    const channel = worker.channel;
    const reason = crashReason(
      classifyExit(exit.exitCode, exit.signal),
      worker.killedForHang,
      corrupt.has(channel.globalIndex),
    );
    const info = crashInfo(worker, exit, reason);
    channel.crashes = ++worker.crashes;
    const now = monotonicNowMs();
    worker.crashHistory = recordCrash(worker.crashHistory, now, options.crashLoop.windowMs);
    const crashLooping = isCrashLooping(worker.crashHistory, options.crashLoop);
    pool.setState(worker, crashLooping ? WorkerState.Down : WorkerState.Restarting);
    worker.down = crashLooping;
    const { poisons, stagedRepliesPublished, corruptSlots } = this.#recover(worker, info, true);
    const resets = corrupt.take(channel.globalIndex, corruptSlots);
    layout.bumpWorkerEpoch();
    this.#workerDown(channel.globalIndex);
    this.#parts.events.emit('workerCrash', {
      ...info,
      crashes: worker.crashes,
      poisonSeqIds: poisons.map((p) => p.seqId),
      stagedRepliesPublished,
      down: crashLooping,
    });
    if (crashLooping) {
      const hangTimeoutMs = options.layout.hangTimeoutMs;
      const failed = failQueuedIfGroupDown(layout, channel, this.#answer, { info, poisons, hangTimeoutMs });
      for (const poison of failed) this.#parts.metrics.recordPoison(poison.funcId, info.group);
      return;
    }
    const consecutive = worker.crashHistory.consecutive;
    const delay = this.#parts.spares.canReplace(channel.group)
      ? spareDelayMs(consecutive, options.restartBackoff)
      : restartDelayMs(consecutive, options.restartBackoff);
    channel.restartAt = now + delay;
    if (resets.size > 0) {
      // The replacement starts on freshly formatted channels.
      void resetChannels(layout, channel, resets, this.#parts.engine(), this.#parts.clients).then(() =>
        this.replace(worker),
      );
      return;
    }
    if (delay <= 0) this.replace(worker);
    else pool.restartAfter(worker, delay, () => this.replace(worker));
  }

  readonly #mayStart = (): boolean => {
    const state = this.#parts.state();
    return state === 'running' || state === 'starting';
  };

  #recover(worker: ManagedWorker, info: WorkerCrashInfo, answering: boolean): RecoveryOutcome {
    const { layout, options, metrics } = this.#parts;
    return recoverCrashedWorker(layout, worker.channel, info, {
      policy: options.onWorkerCrash,
      hangTimeoutMs: options.layout.hangTimeoutMs,
      answering,
      answer: this.#answer,
      onPoison: (poison) => metrics.recordPoison(poison.funcId, info.group),
    });
  }

  readonly #answer = (slot: number, seqId: number, error: PhoenixError): void => {
    if (slot === SUPERVISOR_SLOT) this.#parts.engine()?.failCall(seqId, error);
    else this.#parts.clients.fail(slot, seqId, error);
  };

  /**
   * `worker` serves again. A sibling that went down while no worker of its
   * group was running kept its callers' unstarted requests: there was no
   * running sibling to move them to, and a restarting one kept the group
   * from counting as down, so nobody failed them either. Each caller moves
   * them now (failover.ts; a request moves at most once, by its PENDING ->
   * MOVED swap).
   */
  workerServing(worker: ManagedWorker): void {
    for (const other of this.#parts.pool.workers) {
      if (other.down && other !== worker && other.channel.group === worker.channel.group)
        this.#workerDown(other.globalIndex);
    }
  }

  #workerDown(globalIndex: number): void {
    this.#parts.engine()?.workerDown(globalIndex);
    this.#parts.clients.workerDown(globalIndex);
  }
}

function crashInfo(worker: ManagedWorker, exit: WorkerExit, reason: WorkerCrashInfo['reason']): WorkerCrashInfo {
  const { group, index } = worker.channel;
  return { group, workerIndex: index, pid: exit.pid, signal: exit.signal, exitCode: exit.exitCode, reason };
}
