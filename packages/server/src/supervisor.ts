/**
 * The supervisor: a coordinator over parts with one job each (as Aeron's
 * DriverConductor delegates to its command adapter and proxies). It owns
 * the segment and the server's state and timers, and routes events between
 * the parts:
 *  - WorkerPool (worker-pool.ts): forks workers, hears them, notices exits;
 *  - WorkerExitHandler (worker-exit-handler.ts): acts on an exit with the pure
 *    verdicts of crash-policy.ts, and worker-recovery.ts turns the dead
 *    worker's poisons into errors for their callers;
 *  - HangDetector (hang-detector.ts): the two-phase hang scan;
 *  - ClientAdmission (client-admission.ts): control connections, slots, draining;
 *  - segment-repair.ts: the heartbeat's repair and corrupt-channel resets;
 *  - SparePool (spare-pool.ts): warm spare workers, handed to crashed indexes;
 *  - WorkerPidFds, worker-stats.ts: callSync's pidfds, getWorkerStats().
 * It is also a caller itself, through slot 0 (the engine). Over 400
 * lines on purpose: what remains is the order of start, stop and rolling
 * restarts across the parts, which reads best in one place.
 */
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { CallerEngine, type CallObserver, retainReplyMemory } from '@phoenix-ipc/client/internal';
import { closeFd, type SharedSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import type { GroupName } from '@phoenix-ipc/shm-layout';
import {
  controlSocketName,
  GROUP_VIP,
  monotonicNowMs,
  PhoenixError,
  type PhoenixShmLayout,
  SUPERVISOR_SLOT,
  SupervisorState,
} from '@phoenix-ipc/shm-layout';
import { CallMetrics, type MetricsSnapshot } from './call-metrics.js';
import { ClientAdmission } from './client-admission.js';
import { DoorbellRescue } from './doorbell-rescue.js';
import { HangDetector } from './hang-detector.js';
import { Heartbeat } from './heartbeat.js';
import type { ManagedWorker } from './managed-worker.js';
import { atProcessExit } from './process-exit.js';
import { type ClaimedSegment, claimSegment, type SegmentIdentity } from './segment-owner.js';
import { CorruptChannels, corruptRingHeaders, repairSegment } from './segment-repair.js';
import { isolatedListeners, type ServerEvents } from './server-events.js';
import type { ResolvedServerOptions } from './server-options.js';
import { SparePool, type SpareStats } from './spare-pool.js';
import { supervisorYieldsCpu } from './supervisor-cpu-yield.js';
import { createEventFds, explainFdShortage } from './supervisor-fds.js';
import { WorkerExitHandler } from './worker-exit-handler.js';
import { WorkerPidFds } from './worker-pid-fds.js';
import { WorkerPool } from './worker-pool.js';
import { syncWorkerDeathError } from './worker-recovery.js';
import { type WorkerStats, workerStats } from './worker-stats.js';

export type ServerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** The supervisor's one steady timer (heartbeat.ts): segment repair, heartbeat, and (default hang timeouts) the hang watch. */
const HEARTBEAT_MS = 1000;
/**
 * The heartbeat's period while no request is in flight (bounded further by the hang watch): a wake-up every 15 s
 * is all an idle supervisor costs, and in the 10 s after the last call it wakes not at all.
 */
const IDLE_HEARTBEAT_MAX_MS = 15_000;
const STOP_EXIT_WAIT_MS = 1500;

export class Supervisor {
  readonly name: string;
  readonly options: ResolvedServerOptions;
  readonly layout: PhoenixShmLayout;
  readonly epoch: number;
  readonly #segment: SharedSegment;
  readonly #identity: SegmentIdentity;
  readonly #events: ServerEvents;
  readonly #workerFds: number[];
  readonly #slotFds: number[];
  readonly #pool: WorkerPool;
  readonly #clients: ClientAdmission;
  readonly #hangs: HangDetector;
  readonly #exits: WorkerExitHandler;
  readonly #spares: SparePool;
  readonly #corrupt = new CorruptChannels();
  readonly #pidFds = new WorkerPidFds();
  readonly #metrics = new CallMetrics();
  #engine: CallerEngine | null = null;
  #state: ServerState = 'created';
  readonly #heartbeat: Heartbeat;
  readonly #doorbellRescue: DoorbellRescue;
  #stopping: Promise<void> | null = null;
  #observer: CallObserver | undefined;
  /** The workers' stats as the segment was released (getWorkerStats after stop). */
  #finalStats: WorkerStats[] = [];

  private constructor(name: string, options: ResolvedServerOptions, claimed: ClaimedSegment, events: EventEmitter) {
    const layout = claimed.layout;
    this.name = name;
    this.options = options;
    this.#segment = claimed.segment;
    this.layout = layout;
    this.#identity = claimed.identity;
    this.epoch = claimed.identity.epoch;
    this.#events = isolatedListeners(events);
    this.#workerFds = createEventFds(layout.channels.length);
    try {
      this.#slotFds = createEventFds(layout.slots.length);
    } catch (error) {
      for (const fd of this.#workerFds) closeFd(fd);
      throw error;
    }
    this.#pool = new WorkerPool(
      layout,
      {
        name,
        epoch: this.epoch,
        workerFds: this.#workerFds,
        slotFds: this.#slotFds,
        recycleAfter: options.recycleAfter,
        replyBatch: options.replyBatch,
        workerMaxOldSpaceMb: options.workerMaxOldSpaceMb,
        workerEnv: options.workerEnv,
      },
      {
        onReady: (worker, isRestart) => this.#onReady(worker, isRestart),
        onExit: (worker, exit) => this.#exits.onExit(worker, exit),
        onRecycle: (worker) => this.#recycle(worker),
        onMetrics: (delta, group) => this.#metrics.addDelta(delta, group),
        onCorruptSlot: (globalIndex, slot) => this.#markCorrupt(globalIndex, slot),
        beforeAttach: () => this.#repairSegment(),
      },
    );
    const workersIn = (group: GroupName) => layout.channels.filter((channel) => channel.group === group).length;
    this.#spares = new SparePool({
      layout,
      perGroup: {
        normal: workersIn('normal') > 0 ? options.spareWorkers : 0,
        vip: workersIn('vip') > 0 ? options.spareWorkers : 0,
      },
      restartBackoff: options.restartBackoff,
      maxFailures: options.crashLoop.maxCrashes,
      bootTimeoutMs: options.startTimeoutMs,
      fork: () => this.#pool.forkSpare(),
    });
    this.#clients = new ClientAdmission({
      layout,
      socketName: controlSocketName(name, process.pid, this.epoch, layout.controlNonce),
      epoch: this.epoch,
      maxClients: options.layout.maxClients,
      workerFds: this.#workerFds,
      slotFds: this.#slotFds,
      events: this.#events,
      stopping: () => this.#state === 'stopping' || this.#state === 'stopped',
      stopped: () => this.#state === 'stopped',
      workerAlive: (globalIndex) => this.#pool.workers[globalIndex]?.alive ?? false,
      onCorruptReport: (globalIndex, slot) => this.#markCorrupt(globalIndex, slot),
    });
    this.#hangs = new HangDetector({
      layout,
      hangTimeoutMs: options.layout.hangTimeoutMs,
      heartbeatMs: HEARTBEAT_MS,
      active: () => this.#state === 'running',
      onHang: (hung) => this.#pool.killForHang(hung),
    });
    this.#doorbellRescue = new DoorbellRescue({
      layout,
      doorbellFds: this.#workerFds,
      served: (globalIndex) => this.#pool.workers[globalIndex]?.alive ?? false,
    });
    this.#heartbeat = new Heartbeat({
      activeMs: HEARTBEAT_MS,
      idleMaxMs: Math.min(IDLE_HEARTBEAT_MAX_MS, this.#hangs.heartbeatBoundMs),
      tick: () => {
        this.#repairSegment();
        this.#resetCorruptRings();
        this.layout.beat();
        this.#hangs.onHeartbeat();
        this.#doorbellRescue.look();
      },
      busy: () => this.#doorbellRescue.busy(),
    });
    this.#exits = new WorkerExitHandler({
      layout,
      options,
      pool: this.#pool,
      clients: this.#clients,
      corrupt: this.#corrupt,
      events: this.#events,
      metrics: this.#metrics,
      state: () => this.#state,
      engine: () => this.#engine,
      spares: this.#spares,
    });
  }

  /** Creates (or takes over) the segment and opens the control socket. Workers start with start(). */
  static create(name: string, options: ResolvedServerOptions, events: EventEmitter): Supervisor {
    const claimed = claimSegment(name, options);
    let supervisor: Supervisor | undefined;
    try {
      supervisor = new Supervisor(name, options, claimed, events);
      supervisor.#clients.listen();
      supervisor.#forgetProcessExit = atProcessExit(supervisor.#onProcessExit);
      return supervisor;
    } catch (error) {
      if (supervisor !== undefined) supervisor.#releaseResources();
      else {
        claimed.segment.close();
        unlinkSegment(name);
      }
      throw explainFdShortage(PhoenixError.from(error), { ...options.layout, spareWorkers: options.spareWorkers });
    }
  }

  get state(): ServerState {
    return this.#state;
  }

  set observer(observer: CallObserver | undefined) {
    this.#observer = observer;
  }

  /** Client processes holding a slot now. */
  get clientCount(): number {
    return this.#clients.count;
  }

  /** Call counters and latency percentiles (see CallMetrics). */
  metrics(): MetricsSnapshot {
    return this.#metrics.snapshot();
  }

  /** The supervisor's own caller (slot 0). */
  get engine(): CallerEngine {
    if (this.#engine === null) {
      this.#engine = new CallerEngine({
        layout: this.layout,
        slot: SUPERVISOR_SLOT,
        doorbellFd: this.#slotFds[SUPERVISOR_SLOT]!,
        workerDoorbellFds: this.#workerFds,
        waitStrategy: this.options.layout.waitStrategy,
        // Its calls share the process with crash handling, admission and
        // heartbeats, which must not wait behind them: it gives its CPU away
        // while it spins only where it has one CPU (supervisor-cpu-yield.ts).
        yieldCpu: supervisorYieldsCpu(),
        observer: (event) => {
          this.#metrics.recordCall(
            event.funcId,
            event.groupId === GROUP_VIP ? 'vip' : 'normal',
            event.code,
            event.totalUs,
            event.local,
            event.queueWaitUs,
            event.handlerUs,
          );
          this.#observer?.(event);
        },
        syncWaitFds: (call) => {
          const worker = this.#pool.workers[call.worker];
          return this.#pidFds.fdsFor(call.worker, worker !== undefined && worker.child !== null ? worker.pid : null);
        },
        onCorruptChannel: (worker) => this.#markCorrupt(worker, SUPERVISOR_SLOT),
        onSyncWake: (_index, call) => {
          const worker = this.#pool.workers[call.worker];
          if (worker !== undefined)
            this.#engine?.abandon(call.seqId, syncWorkerDeathError(worker.channel, worker.pid, call.seqId));
        },
      });
      // As a client does at connect: its replies are copied into fresh memory too.
      retainReplyMemory(this.options.retainFreedMemoryMb, this.layout.options.maxPayloadBytes);
    }
    return this.#engine;
  }

  // ------------------------------------------------------------------ start

  async start(workerPath: string, args: string[]): Promise<void> {
    if (this.#state !== 'created') {
      throw new PhoenixError('ERR_PHOENIX_INVALID_STATE', `start() needs a created server; this one is ${this.#state}`);
    }
    this.#state = 'starting';
    const resolvedPath = resolvePath(workerPath);
    this.#pool.setScript(resolvedPath, args);
    void this.engine;
    this.layout.supervisorState = SupervisorState.Running;
    this.layout.beat();
    try {
      if (!existsSync(resolvedPath)) {
        throw new PhoenixError('ERR_PHOENIX_WORKER_START_FAILED', `worker script ${resolvedPath} does not exist`);
      }
      for (const worker of this.#pool.workers) this.#pool.spawn(worker, false);
      await this.#pool.allReady(this.options.startTimeoutMs);
    } catch (error) {
      await this.#abortStart();
      throw PhoenixError.isInstance(error) && error.code === 'ERR_PHOENIX_WORKER_START_FAILED'
        ? error
        : new PhoenixError('ERR_PHOENIX_WORKER_START_FAILED', (error as Error).message, { cause: error });
    }
    if (this.#state !== 'starting') return;
    this.#state = 'running';
    this.#heartbeat.start();
    this.#hangs.start();
    // After the workers serve, so that spares never delay start().
    this.#spares.start();
  }

  async #abortStart(): Promise<void> {
    this.#state = 'stopping';
    this.#spares.killAll();
    for (const worker of this.#pool.workers) {
      worker.plannedExit = 'stop';
      worker.child?.kill('SIGKILL');
    }
    await this.#pool.whenAllExited();
    this.#engine?.close(new PhoenixError('ERR_PHOENIX_SERVER_GONE', 'the server failed to start'));
    this.#clients.closeClients('the server failed to start');
    this.#releaseResources();
    this.#state = 'stopped';
  }

  #onReady(worker: ManagedWorker, isRestart: boolean): void {
    this.#exits.workerServing(worker);
    if (!isRestart) return;
    this.#events.emit('workerRestart', {
      group: worker.channel.group,
      workerIndex: worker.channel.index,
      pid: worker.pid,
      restarts: worker.restarts,
      spare: worker.fromSpare,
    });
  }

  // A channel (worker, slot) failed validation. The worker must go (a
  // replacement starts on a fresh channel); the crash handling does the reset.
  #markCorrupt(globalIndex: number, slot: number): void {
    this.#corrupt.report(globalIndex, slot);
    this.#pool.workers[globalIndex]?.child?.kill('SIGKILL');
  }

  // Ring headers a broken peer overwrote: their channels are reset, as when a side reports one.
  #resetCorruptRings(): void {
    if (this.#state !== 'running') return;
    for (const { globalIndex, slot } of corruptRingHeaders(this.layout, this.#clients.isActive)) {
      // Only a serving worker's channel: one whose worker is gone is being reset or will be before its replacement.
      const worker = this.#pool.workers[globalIndex];
      if (worker?.ready && worker.alive && !this.#corrupt.has(globalIndex)) this.#markCorrupt(globalIndex, slot);
    }
  }

  // Each heartbeat, and before a process attaches: put back whatever a broken peer overwrote among the things
  // we publish.
  #repairSegment(): void {
    repairSegment(this.layout, {
      identity: this.#identity,
      running: this.#state === 'running',
      workers: this.#pool.workers.map((worker) => ({
        channel: worker.channel,
        state: worker.state,
        crashes: worker.crashes,
        restarts: worker.restarts,
        livePid: worker.child !== null ? worker.pid : null,
      })),
      expectedSlot: (slotIndex) => this.#clients.expectedSlot(slotIndex),
    });
  }

  getWorkerStats(): WorkerStats[] {
    // Once stopped the segment is unmapped: what it last said is kept.
    if (this.#segment.closed) return this.#finalStats.map((stats) => ({ ...stats }));
    return workerStats(this.layout, this.#pool.workers);
  }

  getSpareStats(): SpareStats {
    return this.#spares.stats();
  }

  // ------------------------------------------------------ replace workers

  /**
   * Replaces every worker, one at a time: each finishes the request it is
   * running and exits; its queue moves to its siblings or waits for its
   * replacement. Workers left down by the crash-loop limit start afresh.
   */
  async restartWorkers(): Promise<void> {
    if (this.#state !== 'running') {
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_STATE',
        `restartWorkers() needs a running server; this one is ${this.#state}`,
      );
    }
    this.#spares.forgive();
    for (const worker of this.#pool.workers) {
      if (this.#state !== 'running') return;
      this.#exits.forgive(worker);
      if (worker.child === null) {
        worker.down = false;
        this.#exits.replace(worker);
      } else {
        await this.#pool.retire(worker);
      }
      await worker.whenReady().catch(() => undefined);
    }
  }

  #recycle(worker: ManagedWorker): void {
    if (worker.recycling || this.#state !== 'running') return;
    worker.recycling = true;
    void this.#pool.retire(worker).finally(() => {
      worker.recycling = false;
    });
  }

  // ---------------------------------------------------------------- stop

  stop(graceMs: number): Promise<void> {
    if (this.#state === 'stopped') return Promise.resolve();
    if (this.#stopping !== null) return this.#stopping;
    this.#stopping = this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    const wasStarted = this.#state !== 'created';
    this.#state = 'stopping';
    this.layout.supervisorState = SupervisorState.Stopping;
    this.#clients.stopListening();
    this.#hangs.stop();
    this.#pool.cancelRestarts();
    if (wasStarted) {
      const deadline = monotonicNowMs() + graceMs;
      while (monotonicNowMs() < deadline && this.#busy()) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const gone = new PhoenixError(
      'ERR_PHOENIX_SERVER_GONE',
      'the server stopped before the call completed; its outcome is unknown',
    );
    this.#engine?.close(gone);
    this.#clients.closeClients('the server is stopping');
    await Promise.all([this.#pool.stopAll(STOP_EXIT_WAIT_MS), this.#spares.stop()]);
    this.layout.supervisorState = SupervisorState.Stopped;
    this.#releaseResources();
    this.#state = 'stopped';
  }

  // Something queued, running, or of ours awaiting a reply.
  #busy(): boolean {
    return (this.#engine?.liveCalls ?? 0) > 0 || this.#pool.busy();
  }

  // The process is exiting without stop() (process.exit, an uncaught error,
  // or a worker ending that ran this supervisor with nestedSupervisor): leave
  // nothing behind. Workers die of their parent-death signal anyway; clients
  // see their control socket close (ERR_PHOENIX_SERVER_GONE).
  #forgetProcessExit = (): void => {};
  readonly #onProcessExit = (): void => {
    this.#pool.killAll();
    this.#spares.killAll();
    this.#releaseResources();
  };

  #releaseResources(): void {
    this.#forgetProcessExit();
    this.#heartbeat.stop();
    this.#hangs.stop();
    this.#clients.close();
    this.#pidFds.closeAll();
    this.#pool.close();
    for (const fd of [...this.#workerFds, ...this.#slotFds]) {
      try {
        closeFd(fd);
      } catch {
        // already closed
      }
    }
    this.#workerFds.length = 0;
    this.#slotFds.length = 0;
    if (!this.#segment.closed) {
      this.#finalStats = workerStats(this.layout, this.#pool.workers);
      try {
        unlinkSegment(this.name);
      } catch {
        // someone else removed it
      }
      this.#segment.close();
    }
  }
}
