import { fork } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { CallerEngine, type CallObserver, ControlConnection } from '@phoenix-ipc/client/internal';
import {
  acceptSeqpacket,
  closeFd,
  createEventFd,
  FdWatcher,
  listenSeqpacket,
  openPidFd,
  peerCredentials,
  processStartTime,
  type SharedSegment,
  signalEventFd,
  unlinkSegment,
} from '@phoenix-ipc/native-shm';
import {
  type ControlMessage,
  controlSocketName,
  Frames,
  GROUP_VIP,
  monotonicNowMs,
  PhoenixError,
  type PhoenixErrorDetails,
  PhoenixShmLayout,
  type PoisonMessage,
  RequestState,
  SlotState,
  SUPERVISOR_SLOT,
  SupervisorState,
  type WorkerChannel,
  WorkerState,
} from '@phoenix-ipc/shm-layout';
import { CallMetrics, type MetricsDelta, type MetricsSnapshot } from './call-metrics.js';
import {
  classifyExit,
  crashReason,
  forgiveCrashes,
  isCrashLooping,
  recordCrash,
  restartDelayMs,
  routeExit,
  shouldRetry,
  type WorkerCrashInfo,
} from './crash-policy.js';
import { ManagedWorker } from './managed-worker.js';
import { acquireSegment, type OwnedSegment, ownIdentity } from './segment-owner.js';
import { checkSegmentSpace, freeShmBytes, noSpaceError } from './segment-space.js';
import type { ResolvedServerOptions } from './server-options.js';
import { encodeWorkerEnvironment, WORKER_ENV, type WorkerEnvironment } from './worker-environment.js';

export type ServerState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface WorkerStats {
  group: 'normal' | 'vip';
  /** 0-based within its group, stable across restarts. */
  index: number;
  /** Current process id (0 when none). */
  pid: number;
  alive: boolean;
  state: 'starting' | 'running' | 'restarting' | 'down' | 'stopped' | 'retiring' | 'idle';
  /** Left down by the crash-loop limit until restartWorkers(). */
  down: boolean;
  processed: number;
  failed: number;
  crashes: number;
  restarts: number;
  /** Requests queued to this worker, summed over every caller's ring. */
  queueDepth: number;
  /** Seq id of the request it is running now; 0 (kInvalidSeqId) when idle. */
  inFlightSeqId: number;
}

const ACK_POLL_MS = 2;
const ACK_SLOW_POLL_MS = 20;
const ACK_FAST_WINDOW_MS = 2000;
const WORKER_V8_FLAGS = ['--no-memory-reducer-for-small-heaps'];
/** The supervisor's one steady timer: segment repair, heartbeat, and (default hang timeouts) the hang watch. */
const HEARTBEAT_MS = 1000;
const STOP_EXIT_WAIT_MS = 1500;
const CHANNEL_RESET_ACK_MS = 2000;
/** How long a worker that died before serving may take to deliver why (its IPC channel's last message). */
const START_FAILURE_READ_MS = 250;

interface ClientEntry {
  connection: ControlConnection;
  slot: number;
  pid: number;
  /** Channel resets waiting for this client's ack, by worker. */
  resetAcks: Map<number, () => void>;
  /** The slot generation it was admitted at. */
  generation: number;
}

/**
 * The supervisor: owns the segment (created or taken over), spawns and
 * watches the workers, admits client processes, answers for crashed workers
 * and replaces them. It is also a caller itself, through slot 0.
 */
export class Supervisor {
  readonly name: string;
  readonly options: ResolvedServerOptions;
  readonly layout: PhoenixShmLayout;
  readonly epoch: number;
  readonly #segment: SharedSegment;
  readonly #events: EventEmitter;
  readonly #workers: ManagedWorker[];
  readonly #workerFds: number[];
  readonly #slotFds: number[];
  readonly #clients = new Map<number, ClientEntry>();
  readonly #draining = new Set<number>();
  readonly #suspects = new Map<string, number>();
  /** Channels to reformat before a worker's replacement starts: worker -> slots. */
  readonly #pendingResets = new Map<number, Set<number>>();
  #lastCorruptSlots: number[] = [];
  readonly #metrics = new CallMetrics();
  #identity: { epoch: number; supervisorPid: number; supervisorStartTime: number; controlNonce: number } | null = null;
  #engine: CallerEngine | null = null;
  #state: ServerState = 'created';
  #listenFd = -1;
  #listenWatcher: FdWatcher | null = null;
  #socketName: string;
  #workerPath = '';
  #workerArgs: string[] = [];
  #hangTimer: NodeJS.Timeout | null = null;
  #hangWatchTimer: NodeJS.Timeout | null = null;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #stopping: Promise<void> | null = null;
  #observer: CallObserver | undefined;

  private constructor(
    name: string,
    options: ResolvedServerOptions,
    segment: SharedSegment,
    layout: PhoenixShmLayout,
    epoch: number,
    events: EventEmitter,
  ) {
    this.name = name;
    this.options = options;
    this.#segment = segment;
    this.layout = layout;
    this.epoch = epoch;
    this.#events = events;
    this.#workers = layout.channels.map((channel) => new ManagedWorker(channel));
    this.#workerFds = layout.channels.map(() => createEventFd());
    this.#slotFds = layout.slots.map(() => createEventFd());
    this.#socketName = controlSocketName(name, process.pid, epoch, layout.controlNonce);
  }

  /** Creates (or takes over) the segment and opens the control socket. Workers start with start(). */
  static create(name: string, options: ResolvedServerOptions, events: EventEmitter): Supervisor {
    const size = PhoenixShmLayout.requiredSize(options.layout);
    checkSegmentSpace(name, size);
    let owned: OwnedSegment;
    try {
      owned = acquireSegment(name, size, options.mode);
    } catch (error) {
      // Another process took the room between the check and the reservation.
      if (PhoenixError.isInstance(error) && error.code === 'ERR_PHOENIX_NO_SPACE')
        throw noSpaceError(name, size, freeShmBytes(), error);
      throw error;
    }
    let supervisor: Supervisor | undefined;
    try {
      const identity = ownIdentity();
      const nonce = (Math.random() * 0xffffffff) >>> 0;
      const layout = PhoenixShmLayout.format(owned.segment.buffer, options.layout, {
        epoch: owned.epoch,
        supervisorPid: identity.pid,
        supervisorStartTime: identity.startTime,
        controlNonce: nonce,
      });
      const ownSlot = layout.getSlot(SUPERVISOR_SLOT);
      ownSlot.pid = process.pid;
      ownSlot.pidStartTime = identity.startTime;
      ownSlot.generation = 1;
      ownSlot.state = SlotState.Active;
      layout.bumpSlotEpoch();
      supervisor = new Supervisor(name, options, owned.segment, layout, owned.epoch, events);
      supervisor.#identity = {
        epoch: owned.epoch,
        supervisorPid: identity.pid,
        supervisorStartTime: identity.startTime,
        controlNonce: nonce,
      };
      supervisor.#listen();
      process.once('exit', supervisor.#onProcessExit);
      return supervisor;
    } catch (error) {
      if (supervisor !== undefined) supervisor.#releaseResources();
      else {
        owned.segment.close();
        unlinkSegment(name);
      }
      throw PhoenixError.from(error);
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
    return this.#clients.size;
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
        observer: (event) => {
          this.#metrics.recordCall(
            event.funcId,
            event.groupId === GROUP_VIP ? 'vip' : 'normal',
            event.code,
            event.totalUs,
            event.local,
          );
          this.#observer?.(event);
        },
        syncWaitFds: (call) => this.#pidFdFor(call.worker),
        onCorruptChannel: (worker) => this.#markCorrupt(worker, SUPERVISOR_SLOT),
        onSyncWake: (_index, call) => this.#onSyncWorkerDeath(call),
      });
    }
    return this.#engine;
  }

  // ------------------------------------------------------------------ start

  async start(workerPath: string, args: string[]): Promise<void> {
    if (this.#state !== 'created') {
      throw new PhoenixError('ERR_PHOENIX_INVALID_STATE', `start() needs a created server; this one is ${this.#state}`);
    }
    this.#state = 'starting';
    this.#workerPath = resolvePath(workerPath);
    this.#workerArgs = args;
    void this.engine;
    this.layout.supervisorState = SupervisorState.Running;
    this.layout.beat();
    try {
      if (!existsSync(this.#workerPath)) {
        throw new PhoenixError('ERR_PHOENIX_WORKER_START_FAILED', `worker script ${this.#workerPath} does not exist`);
      }
      for (const worker of this.#workers) this.#spawn(worker, false);
      await this.#allReady(this.#workers, this.options.startTimeoutMs);
    } catch (error) {
      await this.#abortStart();
      throw PhoenixError.isInstance(error) && error.code === 'ERR_PHOENIX_WORKER_START_FAILED'
        ? error
        : new PhoenixError('ERR_PHOENIX_WORKER_START_FAILED', (error as Error).message, { cause: error });
    }
    if (this.#state !== 'starting') return;
    this.#state = 'running';
    this.#heartbeatTimer = setInterval(() => {
      this.#repairSegment();
      this.layout.beat();
      if (this.#hangWatchMs === HEARTBEAT_MS) this.#watchForHangs();
    }, HEARTBEAT_MS);
    this.#heartbeatTimer.unref();
    if (this.#hangWatchMs < HEARTBEAT_MS) {
      this.#hangWatchTimer = setInterval(() => this.#watchForHangs(), this.#hangWatchMs);
      this.#hangWatchTimer.unref();
    }
  }

  // Idle is idle: the hang scan runs only while some monitor is PROCESSING.
  // A cheap look every #hangWatchMs (at most half the hang timeout, so a
  // hang is still caught within hangTimeoutMs + 2 scans) switches it on; the
  // scan switches itself off when nothing runs and nothing is suspect.
  get #hangWatchMs(): number {
    return Math.min(HEARTBEAT_MS, Math.max(10, Math.floor(this.options.layout.hangTimeoutMs / 2)));
  }

  #watchForHangs(): void {
    if (this.#hangTimer !== null || this.#state !== 'running' || !this.#anyProcessing()) return;
    const period = Math.min(250, Math.max(10, Math.floor(this.options.layout.hangTimeoutMs / 4)));
    this.#hangTimer = setInterval(() => {
      this.#scanHangs();
      if (this.#suspects.size === 0 && !this.#anyProcessing()) {
        clearInterval(this.#hangTimer!);
        this.#hangTimer = null;
      }
    }, period);
    this.#hangTimer.unref();
  }

  #anyProcessing(): boolean {
    for (const channel of this.layout.channels) {
      for (const monitor of channel.monitors) if (monitor.isProcessing()) return true;
    }
    return false;
  }

  #allReady(workers: ManagedWorker[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new PhoenixError('ERR_PHOENIX_WORKER_START_FAILED', `workers did not start serving within ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      Promise.all(workers.map((worker) => worker.whenReady())).then(
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

  async #abortStart(): Promise<void> {
    this.#state = 'stopping';
    for (const worker of this.#workers) {
      worker.plannedExit = 'stop';
      worker.child?.kill('SIGKILL');
    }
    await Promise.all(this.#workers.map((worker) => worker.whenExited()));
    this.#engine?.close(new PhoenixError('ERR_PHOENIX_SERVER_GONE', 'the server failed to start'));
    this.#closeClients('the server failed to start');
    this.#releaseResources();
    this.#state = 'stopped';
  }

  #spawn(worker: ManagedWorker, isRestart: boolean): void {
    const channel = worker.channel;
    const generation = channel.generation + 1;
    channel.generation = generation;
    const workerCount = this.#workerFds.length;
    const fdBase = 4; // 0-2 stdio, 3 the IPC channel
    const environment: WorkerEnvironment = {
      name: this.name,
      epoch: this.epoch,
      group: channel.group,
      index: channel.index,
      globalIndex: channel.globalIndex,
      generation,
      supervisorPid: process.pid,
      workerFds: this.#workerFds.map((_, i) => fdBase + i),
      slotFds: this.#slotFds.map((_, i) => fdBase + workerCount + i),
      recycleAfter: this.options.recycleAfter,
    };
    // An idle worker must cost nothing. V8's memory reducer would compact a
    // worker's small heap a few seconds after every burst (10-20 ms of CPU
    // each time, in every worker); for heaps this small it saves little, so
    // it is off for them. The supervisor's own execArgv comes after and wins.
    const execArgv = [...WORKER_V8_FLAGS, ...process.execArgv];
    if (this.options.workerMaxOldSpaceMb !== undefined)
      execArgv.push(`--max-old-space-size=${this.options.workerMaxOldSpaceMb}`);
    worker.plannedExit = null;
    worker.killedForHang = false;
    worker.ready = false;
    worker.startFailure = null;
    const child = fork(this.#workerPath, this.#workerArgs, {
      execArgv,
      env: { ...process.env, [WORKER_ENV]: encodeWorkerEnvironment(environment) },
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', ...this.#workerFds, ...this.#slotFds],
      serialization: 'json',
    });
    worker.child = child;
    worker.pid = child.pid ?? 0;
    channel.pid = worker.pid;
    channel.pidStartTime = worker.pid > 0 ? (processStartTime(worker.pid) ?? 0) : 0;
    this.#setState(worker, WorkerState.Starting);
    channel.restartAt = 0;
    if (isRestart) channel.restarts = ++worker.restarts;
    this.layout.bumpWorkerEpoch();
    child.on('message', (message: { t?: string; slot?: number; message?: string; delta?: MetricsDelta }) => {
      if (worker.child !== child) return;
      if (message?.t === 'ready') this.#onReady(worker, isRestart);
      else if (message?.t === 'recycle') this.#recycle(worker);
      else if (message?.t === 'metrics' && message.delta !== undefined)
        this.#metrics.addDelta(message.delta, channel.group);
      else if (message?.t === 'corrupt-slot' && typeof message.slot === 'number')
        this.#markCorrupt(channel.globalIndex, message.slot);
      else if (message?.t === 'start-failed' && typeof message.message === 'string')
        worker.startFailure = message.message.slice(0, 2000);
    });
    child.on('error', () => {
      // Spawn failures surface as an exit too; nothing else to do here.
    });
    child.once('exit', (code, signal) => {
      if (worker.child !== child) return;
      if (worker.ready || !child.connected) {
        this.#onExit(worker, code, signal);
        return;
      }
      // It died before serving: it may have said why on its IPC channel, and
      // that message is read before the channel reports its end.
      let timer: NodeJS.Timeout | undefined;
      const exited = () => {
        clearTimeout(timer);
        child.removeListener('disconnect', exited);
        if (worker.child === child) this.#onExit(worker, code, signal);
      };
      child.once('disconnect', exited);
      timer = setTimeout(exited, START_FAILURE_READ_MS);
    });
  }

  #onReady(worker: ManagedWorker, isRestart: boolean): void {
    worker.ready = true;
    this.#setState(worker, WorkerState.Running);
    this.layout.bumpWorkerEpoch();
    for (const waiter of worker.readyWaiters.splice(0)) waiter.resolve();
    if (isRestart) {
      this.#events.emit('workerRestart', {
        group: worker.channel.group,
        workerIndex: worker.channel.index,
        pid: worker.pid,
        restarts: worker.restarts,
      });
    }
  }

  // ------------------------------------------------------------- crashes

  #onExit(worker: ManagedWorker, exitCode: number | null, signal: NodeJS.Signals | null): void {
    const channel = worker.channel;
    const pid = worker.pid;
    const wasReady = worker.ready;
    worker.child = null;
    worker.ready = false;
    const planned = worker.plannedExit;
    const because = worker.startFailure === null ? '' : `: ${worker.startFailure}`;
    const startError = new PhoenixError(
      'ERR_PHOENIX_WORKER_START_FAILED',
      `worker ${channel.group}[${channel.index}] (pid ${pid}) exited before serving (${signal ?? `code ${exitCode}`})${because}`,
    );
    for (const waiter of worker.readyWaiters.splice(0)) waiter.reject(startError);
    for (const waiter of worker.exitWaiters.splice(0)) waiter();
    const route = routeExit({ serverState: this.#state, plannedExit: planned, wasReady });
    if (route === 'stopped') {
      this.#setState(worker, WorkerState.Stopped);
      this.layout.bumpWorkerEpoch();
      this.#recover(
        worker,
        { group: channel.group, workerIndex: channel.index, pid, signal, exitCode, reason: 'exit' },
        false,
      );
      return;
    }
    if (route === 'start-failure') return; // start() sees the rejection and tears everything down
    if (route === 'retired') {
      this.#setState(worker, WorkerState.Restarting);
      this.layout.bumpWorkerEpoch();
      this.#recover(
        worker,
        { group: channel.group, workerIndex: channel.index, pid, signal, exitCode, reason: 'exit' },
        false,
      );
      this.#notifyWorkerDown(channel.globalIndex);
      this.#spawn(worker, true);
      return;
    }
    const reason = crashReason(
      classifyExit(exitCode, signal),
      worker.killedForHang,
      this.#pendingResets.has(channel.globalIndex),
    );
    const info: WorkerCrashInfo = { group: channel.group, workerIndex: channel.index, pid, signal, exitCode, reason };
    channel.crashes = ++worker.crashes;
    const now = monotonicNowMs();
    worker.crashHistory = recordCrash(worker.crashHistory, now, this.options.crashLoop.windowMs);
    const crashLooping = isCrashLooping(worker.crashHistory, this.options.crashLoop);
    this.#setState(worker, crashLooping ? WorkerState.Down : WorkerState.Restarting);
    worker.down = crashLooping;
    const poisons = this.#recover(worker, info, true);
    const resets = this.#pendingResets.get(channel.globalIndex) ?? new Set<number>();
    this.#pendingResets.delete(channel.globalIndex);
    for (const slot of this.#lastCorruptSlots) resets.add(slot);
    this.#lastCorruptSlots = [];
    this.layout.bumpWorkerEpoch();
    this.#notifyWorkerDown(channel.globalIndex);
    this.#events.emit('workerCrash', {
      ...info,
      crashes: worker.crashes,
      poisonSeqIds: poisons.map((p) => p.seqId),
      down: crashLooping,
    });
    if (crashLooping) {
      this.#failQueuedIfGroupDown(channel);
      return;
    }
    const delay = restartDelayMs(worker.crashHistory.consecutive, this.options.restartBackoff);
    channel.restartAt = now + delay;
    if (resets.size > 0) {
      // The replacement starts on freshly formatted channels.
      void this.#resetChannels(worker, [...resets]).then(() => {
        if (this.#state === 'running' || this.#state === 'starting') this.#spawn(worker, true);
      });
      return;
    }
    worker.restartTimer = setTimeout(() => {
      worker.restartTimer = null;
      if (this.#state === 'running' || this.#state === 'starting') this.#spawn(worker, true);
    }, delay);
  }

  // Takes over the dead worker's consumer role: finds its poison messages,
  // answers their callers (or re-queues them under a retry policy) and skips
  // what nobody will run. Returns the poisons.
  #recover(worker: ManagedWorker, info: WorkerCrashInfo, answer: boolean): PoisonMessage[] {
    const policy = this.options.onWorkerCrash;
    let poisons: PoisonMessage[] = [];
    try {
      const report = this.layout.recoverWorker(worker.channel, {
        shouldRetry: ({ attempt }) => shouldRetry(policy, attempt, answer),
      });
      poisons = report.poisons;
      this.#lastCorruptSlots = report.corruptSlots;
    } catch {
      // Monitors or records beyond repair: every active slot's channel with it gets a fresh format.
      this.#lastCorruptSlots = this.layout.slots
        .filter((slot) => slot.state === SlotState.Active)
        .map((slot) => slot.index);
      return [];
    }
    for (const poison of poisons) {
      if (poison.retried) continue;
      this.#metrics.recordPoison(poison.funcId, info.group);
      const what =
        info.reason === 'corrupt'
          ? 'met a corrupt channel and was replaced'
          : info.reason === 'hang'
            ? `hung for more than ${this.options.layout.hangTimeoutMs} ms and was killed`
            : `died (${info.signal ?? `exit code ${info.exitCode}`})`;
      const details: PhoenixErrorDetails = {
        group: info.group,
        workerIndex: info.workerIndex,
        pid: info.pid,
        signal: info.signal,
        exitCode: info.exitCode,
        reason: info.reason,
        seqId: poison.seqId,
        attempt: poison.attempt,
        funcId: poison.funcId,
      };
      const error = new PhoenixError(
        'ERR_PHOENIX_WORKER_CRASHED',
        `worker ${info.group}[${info.workerIndex}] (pid ${info.pid}) ${what} while processing request ${poison.seqId} (func ${poison.funcId}, attempt ${poison.attempt})${answer ? '' : ' during shutdown'}`,
        details,
      );
      this.#answer(poison.slot, poison.seqId, error);
    }
    return poisons;
  }

  #answer(slot: number, seqId: number, error: PhoenixError): void {
    if (slot === SUPERVISOR_SLOT) {
      this.#engine?.failCall(seqId, error);
      return;
    }
    const client = this.#clients.get(slot);
    client?.connection.send({
      t: 'failed',
      seqId,
      code: error.code,
      message: error.message,
      details: {
        group: error.group,
        workerIndex: error.workerIndex,
        pid: error.pid,
        signal: error.signal,
        exitCode: error.exitCode,
        reason: error.reason,
        seqId: error.seqId,
        attempt: error.attempt,
        funcId: error.funcId,
      },
    });
  }

  #notifyWorkerDown(globalIndex: number): void {
    this.#engine?.workerDown(globalIndex);
    for (const client of this.#clients.values()) client.connection.send({ t: 'worker-down', worker: globalIndex });
  }

  // A crash-looping worker with no live sibling: its queued requests would
  // wait forever, so they are failed now (ERR_PHOENIX_UNAVAILABLE).
  #failQueuedIfGroupDown(channel: WorkerChannel): void {
    const group = channel.group === 'normal' ? this.layout.normalChannels : this.layout.vipChannels;
    const alive = group.some(
      (other) =>
        other.state === WorkerState.Running ||
        other.state === WorkerState.Starting ||
        other.state === WorkerState.Restarting,
    );
    if (alive) return;
    const words = this.layout.views.words;
    for (const member of group) {
      for (let slot = 0; slot < this.layout.slots.length; slot++) {
        if (this.layout.getSlot(slot).state !== SlotState.Active) continue;
        let ring: ReturnType<WorkerChannel['attachRequestRing']>;
        try {
          ring = member.attachRequestRing(slot);
          for (;;) {
            const frame = ring.peekRecord();
            if (frame < 0) break;
            const stateIndex = Frames.requestStateIndex(frame);
            if (
              Atomics.compareExchange(words, stateIndex, RequestState.Pending, RequestState.Failed) ===
              RequestState.Pending
            ) {
              const seqId = Frames.requestSeqId(words, frame);
              this.#answer(
                slot,
                seqId,
                new PhoenixError(
                  'ERR_PHOENIX_UNAVAILABLE',
                  `every ${channel.group} worker is down (crash loop); the request was not run`,
                  { seqId },
                ),
              );
            }
            ring.take();
          }
          ring.release();
        } catch {
          // corrupt ring: nothing more to rescue here
        }
      }
    }
  }

  #scanHangs(): void {
    const now = monotonicNowMs();
    const hung = this.layout.scanHungTransactions(now, this.options.layout.hangTimeoutMs);
    const seen = new Set<string>();
    for (const suspect of hung) {
      const key = `${suspect.group}/${suspect.workerIndex}/${suspect.lane}/${suspect.transaction}`;
      seen.add(key);
      if (!this.#suspects.has(key)) {
        this.#suspects.set(key, now); // phase 1: suspect
        continue;
      }
      // Phase 2: the same transaction is still running at the next scan: confirm and kill.
      const channel = this.layout.getChannel(suspect.group, suspect.workerIndex);
      const worker = this.#workers[channel.globalIndex]!;
      if (worker.child !== null && !worker.killedForHang && worker.pid === channel.pid) {
        worker.killedForHang = true;
        worker.child.kill('SIGKILL');
      }
    }
    for (const key of [...this.#suspects.keys()]) if (!seen.has(key)) this.#suspects.delete(key);
  }

  // callSync on the supervisor: a pidfd turns the target worker's death into
  // readability, so a blocked call notices it (supervision itself is paused).
  #pidFdFor(globalIndex: number): number[] {
    const worker = this.#workers[globalIndex];
    if (worker === undefined || worker.pid <= 0 || worker.child === null) return [];
    if (this.#pidFds.get(globalIndex)?.pid !== worker.pid) {
      const previous = this.#pidFds.get(globalIndex);
      if (previous !== undefined) closeFd(previous.fd);
      this.#pidFds.delete(globalIndex);
      let fd = -1;
      try {
        fd = openPidFd(worker.pid);
      } catch {
        fd = -1;
      }
      if (fd < 0) return [];
      this.#pidFds.set(globalIndex, { pid: worker.pid, fd });
    }
    return [this.#pidFds.get(globalIndex)!.fd];
  }

  readonly #pidFds = new Map<number, { pid: number; fd: number }>();

  #onSyncWorkerDeath(call: { worker: number; seqId: number }): void {
    const worker = this.#workers[call.worker];
    if (worker === undefined) return;
    const channel = worker.channel;
    this.#engine?.abandon(
      call.seqId,
      new PhoenixError(
        'ERR_PHOENIX_WORKER_CRASHED',
        `worker ${channel.group}[${channel.index}] (pid ${worker.pid}) died while callSync waited for request ${call.seqId}`,
        {
          group: channel.group,
          workerIndex: channel.index,
          pid: worker.pid,
          signal: null,
          exitCode: null,
          reason: 'exit',
          seqId: call.seqId,
          attempt: 1,
        },
      ),
    );
  }

  // -------------------------------------------------------- admission

  #listen(): void {
    this.#listenFd = listenSeqpacket(this.#socketName);
    this.#listenWatcher = new FdWatcher(this.#listenFd, () => this.#acceptAll(), { drain: false, ref: false });
    this.#listenWatcher.start();
  }

  #acceptAll(): void {
    for (;;) {
      let fd: number;
      try {
        fd = acceptSeqpacket(this.#listenFd);
      } catch {
        return;
      }
      if (fd < 0) return;
      const entry: { slot: number; pid: number } = { slot: -1, pid: 0 };
      const connection = new ControlConnection(fd, {
        onMessage: (message, fds) => {
          for (const extra of fds) closeFd(extra);
          this.#onClientMessage(connection, entry, message);
        },
        onClose: () => {
          if (entry.slot > 0) this.#clientGone(entry.slot);
        },
      });
    }
  }

  #onClientMessage(connection: ControlConnection, entry: { slot: number; pid: number }, message: ControlMessage): void {
    if (message.t === 'bye') {
      if (entry.slot > 0) this.#clientGone(entry.slot);
      connection.close();
      return;
    }
    if (entry.slot > 0) {
      const client = this.#clients.get(entry.slot);
      if (message.t === 'channel-reset-ack') {
        client?.resetAcks.get(message.worker)?.();
        client?.resetAcks.delete(message.worker);
      } else if (
        message.t === 'corrupt' &&
        Number.isInteger(message.worker) &&
        this.#workers[message.worker] !== undefined
      ) {
        this.#markCorrupt(message.worker, entry.slot);
      }
      return;
    }
    if (message.t !== 'hello') return;
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      connection.send({ t: 'refused', code: 'ERR_PHOENIX_UNAVAILABLE', message: 'the server is stopping' });
      connection.close();
      return;
    }
    let credentials: { pid: number; uid: number };
    try {
      credentials = peerCredentials(connection.fd);
    } catch {
      connection.close();
      return;
    }
    const uid = process.getuid?.() ?? 0;
    if (credentials.uid !== uid && credentials.uid !== 0) {
      connection.send({
        t: 'refused',
        code: 'ERR_PHOENIX_PERMISSION',
        message: `uid ${credentials.uid} may not use a segment owned by uid ${uid}`,
      });
      connection.close();
      return;
    }
    // maxClients bounds the clients served at once; draining slots of departed
    // clients do not count, and spare slots stand in for them meanwhile.
    const slotIndex = this.layout.slots.findIndex(
      (slot) => slot.index !== SUPERVISOR_SLOT && slot.state === SlotState.Free,
    );
    if (slotIndex < 0 || this.#clients.size >= this.options.layout.maxClients) {
      connection.send({ t: 'busy', maxClients: this.options.layout.maxClients });
      connection.close();
      return;
    }
    const slot = this.layout.getSlot(slotIndex);
    // Fresh rings for the newcomer: nobody touches a free slot's rings, and a
    // broken peer may have written over them since they were last formatted.
    for (const channel of this.layout.channels) this.layout.formatRingPair(channel, slotIndex);
    slot.pid = credentials.pid;
    slot.pidStartTime = processStartTime(credentials.pid) ?? 0;
    slot.generation = slot.generation + 1;
    slot.state = SlotState.Active;
    this.layout.bumpSlotEpoch();
    entry.slot = slotIndex;
    entry.pid = credentials.pid;
    this.#clients.set(slotIndex, {
      connection,
      slot: slotIndex,
      pid: credentials.pid,
      resetAcks: new Map(),
      generation: slot.generation,
    });
    connection.send(
      {
        t: 'welcome',
        slot: slotIndex,
        generation: slot.generation,
        epoch: this.epoch,
        workers: this.#workerFds.length,
      },
      [this.#slotFds[slotIndex]!, ...this.#workerFds],
    );
    this.#events.emit('clientConnected', { slot: slotIndex, pid: credentials.pid });
  }

  // A client left (bye, or its process died and the kernel closed its socket).
  // Workers detach from its slot and ack; then its rings are reformatted and
  // the slot freed. Its unanswered requests are dropped with it.
  #clientGone(slotIndex: number): void {
    const client = this.#clients.get(slotIndex);
    if (client === undefined) return;
    this.#clients.delete(slotIndex);
    client.connection.close();
    this.#events.emit('clientGone', { slot: slotIndex, pid: client.pid });
    const slot = this.layout.getSlot(slotIndex);
    const generation = slot.generation;
    slot.state = SlotState.Draining;
    this.layout.bumpSlotEpoch();
    this.#draining.add(slotIndex);
    for (const worker of this.#workers) if (worker.alive) signalEventFd(this.#workerFds[worker.globalIndex]!);
    const started = monotonicNowMs();
    const check = () => {
      if (this.#state === 'stopped') return;
      const pending = this.#workers.some((worker) => worker.alive && slot.ack(worker.globalIndex) !== generation);
      if (pending) {
        const wait = monotonicNowMs() - started < ACK_FAST_WINDOW_MS ? ACK_POLL_MS : ACK_SLOW_POLL_MS;
        setTimeout(check, wait).unref();
        return;
      }
      this.#freeSlot(slotIndex);
    };
    check();
  }

  #freeSlot(slotIndex: number): void {
    const slot = this.layout.getSlot(slotIndex);
    const words = this.layout.views.words;
    for (const channel of this.layout.channels) {
      const outstanding = slot.outstanding(channel.globalIndex);
      if (outstanding !== 0) Atomics.sub(words, channel.pendingIndex, outstanding);
      words[slot.outstandingIndex(channel.globalIndex)] = 0;
      this.layout.formatRingPair(channel, slotIndex);
    }
    Atomics.store(words, slot.parkedIndex, 0);
    slot.pid = 0;
    slot.state = SlotState.Free;
    this.#draining.delete(slotIndex);
    this.layout.bumpSlotEpoch();
  }

  #closeClients(reason: string): void {
    for (const client of this.#clients.values()) {
      client.connection.send({ t: 'shutdown', reason });
      client.connection.close();
    }
    this.#clients.clear();
  }

  // ------------------------------------------------------ corrupt memory

  // A channel (worker, slot) failed validation. The worker must go (a
  // replacement starts on a fresh channel); #onExit does the reset.
  #markCorrupt(globalIndex: number, slot: number): void {
    let slots = this.#pendingResets.get(globalIndex);
    if (slots === undefined) {
      slots = new Set();
      this.#pendingResets.set(globalIndex, slots);
    }
    slots.add(slot);
    this.#workers[globalIndex]?.child?.kill('SIGKILL');
  }

  // Reformats the channels of a dead worker with the callers' cooperation:
  // each stops using its channel (its calls there fail ERR_PHOENIX_BAD_RING)
  // and acks; then the pair is formatted and the caller told to take it up
  // again. A client that does not ack in time is disconnected (its slot is
  // formatted when freed).
  async #resetChannels(worker: ManagedWorker, slots: number[]): Promise<void> {
    const channel = worker.channel;
    const message = `its channel with worker ${channel.group}[${channel.index}] failed validation`;
    for (const slotIndex of slots) {
      if (slotIndex === SUPERVISOR_SLOT) {
        this.#engine?.resetChannel(channel.globalIndex, message);
        this.layout.formatRingPair(channel, slotIndex);
        this.#engine?.channelReady(channel.globalIndex);
        continue;
      }
      const client = this.#clients.get(slotIndex);
      if (client === undefined) continue; // free or draining: formatted when the slot is freed
      const acked = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), CHANNEL_RESET_ACK_MS);
        client.resetAcks.set(channel.globalIndex, () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      client.connection.send({ t: 'channel-reset', worker: channel.globalIndex, message });
      if (!(await acked) || this.#clients.get(slotIndex) !== client) {
        client.resetAcks.delete(channel.globalIndex);
        if (this.#clients.get(slotIndex) === client) this.#clientGone(slotIndex);
        continue;
      }
      this.layout.formatRingPair(channel, slotIndex);
      client.connection.send({ t: 'channel-ready', worker: channel.globalIndex });
    }
  }

  #setState(worker: ManagedWorker, state: WorkerState): void {
    worker.state = state;
    worker.channel.state = state;
  }

  // The supervisor owns the segment: once a second it puts back whatever a
  // broken peer overwrote among the things it publishes (header, static
  // record fields, worker and slot states, counters it keeps itself).
  #repairSegment(): void {
    const layout = this.layout;
    if (this.#identity !== null) layout.repairHeader(this.#identity);
    if (this.#state === 'running' && layout.supervisorState !== SupervisorState.Running)
      layout.supervisorState = SupervisorState.Running;
    layout.repairRecords();
    const words = layout.views.words;
    for (const worker of this.#workers) {
      const channel = worker.channel;
      if (channel.state !== worker.state) channel.state = worker.state;
      if (channel.crashes !== worker.crashes) channel.crashes = worker.crashes;
      if (channel.restarts !== worker.restarts) channel.restarts = worker.restarts;
      if (worker.child !== null && channel.pid !== worker.pid) channel.pid = worker.pid;
      const raw = Atomics.load(words, channel.pendingIndex);
      const capacity =
        channel.group === 'normal' ? layout.options.normalQueueCapacity : layout.options.vipQueueCapacity;
      if (raw < 0 || raw > capacity * layout.slots.length) {
        let sum = 0;
        for (const slot of layout.slots)
          if (slot.state === SlotState.Active)
            sum += Math.max(0, Math.min(capacity, slot.outstanding(channel.globalIndex)));
        Atomics.store(words, channel.pendingIndex, sum);
      }
    }
    let changed = false;
    for (const slot of layout.slots) {
      const client = this.#clients.get(slot.index);
      const expected =
        slot.index === SUPERVISOR_SLOT || client !== undefined
          ? SlotState.Active
          : this.#draining.has(slot.index)
            ? SlotState.Draining
            : SlotState.Free;
      const generation = slot.index === SUPERVISOR_SLOT ? 1 : client?.generation;
      if (slot.state !== expected) {
        slot.state = expected;
        changed = true;
      }
      if (generation !== undefined && slot.generation !== generation) {
        slot.generation = generation;
        changed = true;
      }
    }
    if (changed) layout.bumpSlotEpoch();
  }

  // --------------------------------------------------------------- stats

  getWorkerStats(): WorkerStats[] {
    return this.#workers.map((worker) => {
      const channel = worker.channel;
      let processed = 0;
      let failed = 0;
      for (const monitor of channel.monitors) {
        processed += monitor.getProcessed();
        failed += monitor.getFailed();
      }
      const queueDepth = this.layout.queuedRequests(channel);
      const states = ['idle', 'starting', 'running', 'restarting', 'down', 'stopped', 'retiring'] as const;
      return {
        group: channel.group,
        index: channel.index,
        pid: worker.child !== null ? worker.pid : 0,
        alive: worker.alive,
        state: states[channel.state] ?? 'idle',
        down: worker.down,
        processed,
        failed,
        crashes: worker.crashes,
        restarts: channel.restarts,
        queueDepth,
        inFlightSeqId: channel.monitor.getProcessingSeq(),
      };
    });
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
    for (const worker of this.#workers) {
      if (this.#state !== 'running') return;
      worker.crashHistory = forgiveCrashes(worker.crashHistory);
      if (worker.restartTimer !== null) {
        clearTimeout(worker.restartTimer);
        worker.restartTimer = null;
      }
      if (worker.child === null) {
        worker.down = false;
        this.#spawn(worker, true);
      } else {
        await this.#retire(worker);
      }
      await worker.whenReady().catch(() => undefined);
    }
  }

  // Asks a worker to finish its current request and exit; #onExit starts the replacement.
  async #retire(worker: ManagedWorker): Promise<void> {
    const child = worker.child;
    if (child === null) return;
    worker.plannedExit = 'retire';
    this.#setState(worker, WorkerState.Retiring);
    this.layout.bumpWorkerEpoch();
    try {
      child.send({ t: 'stop' });
    } catch {
      child.kill('SIGKILL');
    }
    await worker.whenExited();
  }

  #recycle(worker: ManagedWorker): void {
    if (worker.recycling || this.#state !== 'running') return;
    worker.recycling = true;
    void this.#retire(worker).finally(() => {
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
    this.#listenWatcher?.close();
    this.#listenWatcher = null;
    if (this.#hangTimer !== null) clearInterval(this.#hangTimer);
    if (this.#hangWatchTimer !== null) clearInterval(this.#hangWatchTimer);
    this.#hangTimer = null;
    this.#hangWatchTimer = null;
    for (const worker of this.#workers) {
      if (worker.restartTimer !== null) clearTimeout(worker.restartTimer);
      worker.restartTimer = null;
    }
    if (wasStarted) {
      const deadline = monotonicNowMs() + graceMs;
      while (monotonicNowMs() < deadline && !this.#idle()) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const gone = new PhoenixError(
      'ERR_PHOENIX_SERVER_GONE',
      'the server stopped before the call completed; its outcome is unknown',
    );
    this.#engine?.close(gone);
    this.#closeClients('the server is stopping');
    for (const worker of this.#workers) {
      const child = worker.child;
      if (child === null) continue;
      worker.plannedExit = 'stop';
      try {
        child.send({ t: 'stop' });
      } catch {
        child.kill('SIGKILL');
      }
    }
    const exited = Promise.all(this.#workers.map((worker) => worker.whenExited()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_EXIT_WAIT_MS);
    });
    const outcome = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      for (const worker of this.#workers) worker.child?.kill('SIGKILL');
      await exited;
    }
    this.layout.supervisorState = SupervisorState.Stopped;
    this.#releaseResources();
    this.#state = 'stopped';
  }

  // Nothing queued, nothing running, nothing of ours awaiting a reply.
  #idle(): boolean {
    if ((this.#engine?.liveCalls ?? 0) > 0) return false;
    for (const channel of this.layout.channels) {
      if (channel.monitors.some((monitor) => monitor.isProcessing())) return false;
      const worker = this.#workers[channel.globalIndex]!;
      if (!worker.alive) continue;
      for (const slot of this.layout.slots) {
        if (slot.state !== SlotState.Active) continue;
        try {
          if (channel.attachRequestRing(slot.index).size() > 0) return false;
        } catch {
          // corrupt: nothing will drain it
        }
      }
    }
    return true;
  }

  // The process is exiting without stop() (process.exit, an uncaught error,
  // or a worker ending that ran this supervisor with nestedSupervisor): leave
  // nothing behind. Workers die of their parent-death signal anyway; clients
  // see their control socket close (ERR_PHOENIX_SERVER_GONE).
  readonly #onProcessExit = (): void => {
    for (const worker of this.#workers) worker.child?.kill('SIGKILL');
    this.#releaseResources();
  };

  #releaseResources(): void {
    process.removeListener('exit', this.#onProcessExit);
    if (this.#heartbeatTimer !== null) clearInterval(this.#heartbeatTimer);
    if (this.#hangTimer !== null) clearInterval(this.#hangTimer);
    if (this.#hangWatchTimer !== null) clearInterval(this.#hangWatchTimer);
    this.#heartbeatTimer = null;
    this.#hangTimer = null;
    this.#hangWatchTimer = null;
    this.#listenWatcher?.close();
    this.#listenWatcher = null;
    if (this.#listenFd >= 0) {
      closeFd(this.#listenFd);
      this.#listenFd = -1;
    }
    for (const { fd } of this.#pidFds.values()) closeFd(fd);
    this.#pidFds.clear();
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
      try {
        unlinkSegment(this.name);
      } catch {
        // someone else removed it
      }
      this.#segment.close();
    }
  }
}
