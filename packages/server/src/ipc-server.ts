import { Caller, type CallerEngine, type CallObserver } from '@phoenix-ipc/client/internal';
import { segmentNameProblem } from '@phoenix-ipc/native-shm';
import { describeValue, PhoenixError } from '@phoenix-ipc/shm-layout';
import type { MetricsSnapshot } from './call-metrics.js';
import { type Handler, HandlerRegistry, type RawHandler } from './handler-registry.js';
import { type IpcServerOptions, type ResolvedServerOptions, resolveServerOptions } from './server-options.js';
import type { SpareStats } from './spare-pool.js';
import { type ServerState, Supervisor } from './supervisor.js';
import { readWorkerEnvironment, reportWorkerStartFailure, WORKER_ENV } from './worker-environment.js';
import { WorkerHost } from './worker-host.js';
import type { WorkerStats } from './worker-stats.js';

export interface StopOptions {
  /** How long in-flight work may take to finish before it is failed (default 5000 ms). */
  graceMs?: number;
}

/** This worker process's server, once created: a worker serves one channel, through one server. */
let workerSide: IpcServer | null = null;

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

/**
 * A PhoenixIPC server. In the process that creates it, it is the supervisor:
 * it owns the shared-memory segment, runs the worker processes, admits
 * clients and recovers from crashes. In a worker process (one the supervisor
 * spawned: the environment variable PHOENIX_IPC_WORKER is set), the same call
 * returns the worker side (`isWorker === true`), whose handlers serve the
 * requests — so one script can be both, cluster-style.
 *
 * Events (supervisor): 'workerCrash', 'workerRestart', 'clientConnected', 'clientGone'.
 */
export class IpcServer extends Caller {
  readonly name: string;
  readonly isWorker: boolean;
  readonly #handlers = new HandlerRegistry();
  readonly #supervisor: Supervisor | null;
  readonly #worker: WorkerHost | null;

  private constructor(name: string, options: ResolvedServerOptions | null, role: 'supervisor' | 'worker') {
    super(options?.defaultTimeoutMs ?? 30_000, options?.onQueueFull ?? 'wait');
    this.name = name;
    this.isWorker = role === 'worker';
    if (role === 'worker') {
      const environment = readWorkerEnvironment()!;
      // Children of the worker are not workers.
      delete process.env[WORKER_ENV];
      this.#worker = new WorkerHost(environment, this.#handlers);
      this.#supervisor = null;
    } else {
      this.#worker = null;
      this.#supervisor = Supervisor.create(name, options!, this);
    }
  }

  /**
   * Creates the supervisor for segment `name` (or, in a worker process, the
   * worker side). Rejects ERR_PHOENIX_INVALID_ARGUMENT for a bad name or
   * option, ERR_PHOENIX_SEGMENT_EXISTS when a live supervisor owns the name,
   * ERR_PHOENIX_BAD_SEGMENT when a foreign file is there (never overwritten),
   * ERR_PHOENIX_NO_SPACE when /dev/shm cannot hold the segment. In a worker
   * process, a name other than the one it serves is refused
   * (ERR_PHOENIX_INVALID_ARGUMENT) unless `nestedSupervisor: true` is given.
   */
  static async create(name: string, options: IpcServerOptions = {}): Promise<IpcServer> {
    const problem = segmentNameProblem(name);
    if (problem !== null) throw invalid(problem);
    const environment = readWorkerEnvironment();
    if (environment !== null && environment.name === name) {
      if (workerSide !== null) {
        throw new PhoenixError(
          'ERR_PHOENIX_INVALID_STATE',
          `IpcServer.create('${name}') again in a worker process: this worker's server for '${name}' exists already`,
        );
      }
      // The segment's recorded configuration rules in a worker: options are not re-applied.
      workerSide = new IpcServer(name, null, 'worker');
      return workerSide;
    }
    const resolved = resolveServerOptions(options);
    if (environment !== null && !resolved.nestedSupervisor) {
      // A worker never becomes a supervisor by accident: a cluster-style script
      // that computes its name differently in the worker would otherwise start
      // workers of its own, which start workers of their own... (a fork bomb).
      const error = invalid(
        `IpcServer.create('${name}') in a worker process: this process is a worker of segment '${environment.name}' ` +
          `(supervisor pid ${environment.supervisorPid}), so it may not become the supervisor of '${name}'. ` +
          'A script that is both supervisor and worker must use the same segment name in both: a constant, or an ' +
          'environment variable the supervisor sets before start() (workers inherit it), e.g. ' +
          '`process.env.MY_SEGMENT ??= "/svc-" + process.pid`. ' +
          'To run the supervisor of another segment from a worker on purpose, pass { nestedSupervisor: true }.',
      );
      reportWorkerStartFailure(error.message);
      throw error;
    }
    return new IpcServer(name, resolved, 'supervisor');
  }

  /**
   * Registers the handler for `funcId` (1001..2^32-1) in this process.
   * Workers run their own registrations. A func id that already has a
   * handler is refused with ERR_PHOENIX_INVALID_ARGUMENT naming it: replace a
   * handler on purpose with unregisterHandler() first.
   */
  registerHandler(funcId: number, handler: Handler): void {
    this.#handlers.register(funcId, handler);
  }

  /**
   * Registers a raw handler for `funcId`: it gets the request as offsets
   * into shared memory (a RawRequest, rewritten for each request) and
   * returns the reply's length, so that serving a request allocates nothing.
   * For hot paths; registerHandler's views are the easier API. The same func
   * id rules as registerHandler (one handler per id, raw or not).
   */
  registerRawHandler(funcId: number, handler: RawHandler): void {
    this.#handlers.registerRaw(funcId, handler);
  }

  /**
   * Removes the handler for `funcId` in this process; returns false if it had
   * none. Requests for it that arrive afterwards fail ERR_PHOENIX_NO_HANDLER.
   */
  unregisterHandler(funcId: number): boolean {
    return this.#handlers.unregister(funcId);
  }

  /**
   * The func ids registered in this process, ascending (a copy). In the
   * supervisor of a cluster-style script these are the ids its workers serve:
   * bridges such as `@phoenix-ipc/nats` use it to know what to offer.
   */
  registeredFuncIds(): number[] {
    return this.#handlers.ids().sort((a, b) => a - b);
  }

  /**
   * Supervisor: spawns the workers running `workerPath` (default: this
   * process's main script) with `args` (default: this process's arguments) and
   * resolves once every worker serves. Rejects ERR_PHOENIX_WORKER_START_FAILED
   * (the server is then stopped, its segment unlinked, no child left).
   * Worker: starts serving; resolves once it does.
   */
  async start(workerPath?: string, args?: string[]): Promise<void> {
    if (this.#worker !== null) {
      if (this.#handlers.size === 0) process.emitWarning('PhoenixIPC worker started with no handler registered');
      await this.#worker.start(this.#worker.environment.recycleAfter);
      return;
    }
    const path = workerPath ?? process.argv[1];
    if (path === undefined || typeof path !== 'string')
      throw invalid('workerPath is required when there is no main script');
    const workerArgs = args ?? process.argv.slice(2);
    if (!Array.isArray(workerArgs) || workerArgs.some((arg) => typeof arg !== 'string')) {
      throw invalid('args must be an array of strings');
    }
    await this.#supervisor!.start(path, workerArgs);
  }

  #requireSupervisor(what: string): Supervisor {
    if (this.#supervisor === null) {
      throw new PhoenixError('ERR_PHOENIX_INVALID_STATE', `${what} is for the supervisor; this is a worker process`);
    }
    return this.#supervisor;
  }

  // Calls are admitted while starting (they queue) and running; before start and once stopping, they are not.
  // While it blocks in callSync this supervisor does not supervise (no crash
  // handling, admissions or hang scan); it still notices the target worker's
  // death and throws ERR_PHOENIX_WORKER_CRASHED.
  protected engineForCall(): CallerEngine {
    return this.#callable().engine;
  }

  #callable(): Supervisor {
    const supervisor = this.#requireSupervisor('call');
    const state = supervisor.state;
    if (state === 'starting' || state === 'running') return supervisor;
    throw new PhoenixError(
      'ERR_PHOENIX_UNAVAILABLE',
      `the server is ${state}: ${state === 'created' ? 'start() it first' : 'it accepts no new calls'}`,
    );
  }

  getState(): ServerState {
    if (this.#worker !== null) {
      const state = this.#worker.state;
      // A warm spare has not served yet: it is still starting.
      return state === 'spare' ? 'starting' : state;
    }
    return this.#supervisor!.state;
  }

  /**
   * In a worker process: the index it serves (`group`, `index`, and the
   * channel's `generation`), read when asked. Null in the supervisor, and in
   * a warm spare until it takes an index over: a worker script must not read
   * its index once at startup, since a spare starts before it has one.
   */
  getWorkerInfo(): { group: 'normal' | 'vip'; index: number; generation: number } | null {
    const host = this.#worker;
    if (host === null || host.channel === null) return null;
    const { group, index, generation } = host.environment;
    return { group, index, generation };
  }

  /** One entry per worker, normal group first. */
  getWorkerStats(): WorkerStats[] {
    return this.#requireSupervisor('getWorkerStats').getWorkerStats();
  }

  /**
   * The warm spare workers per group: how many are ready (booted, waiting for
   * an index) and booting, with their pids. Which process serves which index
   * is in getWorkerStats() (pid, and `spare` when it started as one).
   */
  getSpareStats(): SpareStats {
    return this.#requireSupervisor('getSpareStats').getSpareStats();
  }

  /**
   * Call counters and latency percentiles (three significant digits) by func id and by group:
   * calls, errors by code, queue wait and handler time, and end-to-end time of
   * this supervisor's own calls; plus the worker stats. This supervisor's own
   * calls count as soon as they have settled. Client processes' calls are
   * reported by the workers: about once a second while they serve, and within
   * about 10 ms of their queue running dry.
   */
  metrics(): MetricsSnapshot & { workers: WorkerStats[]; spares: SpareStats; clients: number } {
    const supervisor = this.#requireSupervisor('metrics');
    return {
      ...supervisor.metrics(),
      workers: supervisor.getWorkerStats(),
      spares: supervisor.getSpareStats(),
      clients: supervisor.clientCount,
    };
  }

  /** Replaces every worker one at a time (hot reload), failing no call. */
  restartWorkers(): Promise<void> {
    try {
      return this.#requireSupervisor('restartWorkers').restartWorkers();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Receives one event per finished call of the supervisor's own (metrics). */
  set callObserver(observer: CallObserver | undefined) {
    if (this.#supervisor !== null) this.#supervisor.observer = observer;
  }

  /**
   * Supervisor: stops admitting calls (ERR_PHOENIX_UNAVAILABLE), gives
   * in-flight work `graceMs`, fails what is left with ERR_PHOENIX_SERVER_GONE,
   * tells clients (server-gone), ends the workers and unlinks the segment.
   * Worker: finishes the request in progress and stops serving.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw invalid(`stop() takes an options object ({ graceMs }), got ${describeValue(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (key !== 'graceMs') throw invalid(`stop() has no option ${JSON.stringify(key)}; it takes { graceMs }`);
    }
    const graceMs = options.graceMs ?? 5000;
    if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) {
      throw invalid(`graceMs must be a non-negative number, got ${String(graceMs)}`);
    }
    if (this.#worker !== null) {
      await this.#worker.stop();
      return;
    }
    await this.#supervisor!.stop(graceMs);
  }
}
