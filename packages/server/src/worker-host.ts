import { memoryUsage } from 'node:process';
import { holdDeathWatchSlot, SharedSegment, setParentDeathSignal } from '@phoenix-ipc/native-shm';
import { PhoenixError, PhoenixShmLayout, SUPERVISOR_SLOT, type WorkerChannel } from '@phoenix-ipc/shm-layout';
import { CallMetrics } from './call-metrics.js';
import type { Handler, HandlerRegistry } from './handler-registry.js';
import type { RecycleOptions } from './server-options.js';
import { warmUpRuntime } from './spare-warm-up.js';
import { isTakeMessage, type TakeMessage, takeDeathWatchSlot, type WorkerEnvironment } from './worker-environment.js';
import { EXIT_CORRUPT_CHANNEL, EXIT_NOT_SUPERVISED, EXIT_SUPERVISOR_GONE } from './worker-exit-codes.js';
import { WorkerRuntime } from './worker-runtime.js';

export type WorkerHostState = 'created' | 'spare' | 'running' | 'stopping' | 'stopped';

const RSS_CHECK_EVERY = 1000;
const METRICS_INTERVAL_MS = 1000;
/** An idle worker sends what it served after this long at most, and no more often. */
const METRICS_IDLE_MS = 10;

/**
 * The worker side of IpcServer, in a process the supervisor spawned. It maps
 * the segment by name, serves its channel with the handlers registered here,
 * and exits when the supervisor tells it to stop — or at once when the
 * supervisor dies (parent-death signal, and the IPC channel closing).
 *
 * A warm spare (environment.spare) does everything up to serving: modules
 * loaded, handlers registered, segment mapped. Then it says 'spare-ready' and
 * waits, costing nothing, for the supervisor's {t:'take'}, which names the
 * index whose channel it serves from then on (a dead worker's, or a retiring
 * one's); start() resolves then.
 */
export class WorkerHost {
  environment: WorkerEnvironment;
  readonly layout: PhoenixShmLayout;
  /** The channel served; null while a spare waits for one. */
  channel: WorkerChannel | null = null;
  readonly #segment: SharedSegment;
  readonly #handlers: HandlerRegistry;
  #runtime: WorkerRuntime | null = null;
  #state: WorkerHostState = 'created';
  #recycle: RecycleOptions | undefined;
  #recycleAsked = false;
  readonly #metrics = new CallMetrics();
  #metricsTimer: NodeJS.Timeout | undefined;
  /** The pending metrics timer is the idle one (METRICS_IDLE_MS), not the busy one. */
  #metricsSoon = false;
  #metricsSentAt = 0;

  constructor(environment: WorkerEnvironment, handlers: HandlerRegistry) {
    this.environment = environment;
    this.#handlers = handlers;
    // Die with the supervisor: SIGKILL from the kernel when it exits, and a
    // check for the race where it died before we asked.
    setParentDeathSignal('SIGKILL');
    if (process.ppid !== environment.supervisorPid) process.exit(EXIT_NOT_SUPERVISED);
    holdDeathWatch();
    process.on('disconnect', () => process.exit(EXIT_SUPERVISOR_GONE));
    this.#segment = SharedSegment.open(environment.name);
    try {
      this.layout = PhoenixShmLayout.attach(this.#segment.buffer);
      if (this.layout.epoch !== environment.epoch) {
        throw new PhoenixError(
          'ERR_PHOENIX_BAD_SEGMENT',
          `segment epoch ${this.layout.epoch}, expected ${environment.epoch}`,
        );
      }
      if (environment.spare !== true) this.channel = this.layout.getChannel(environment.group, environment.index);
    } catch (error) {
      this.#segment.close();
      throw error;
    }
  }

  get state(): WorkerHostState {
    return this.#state;
  }

  registerHandler(funcId: number, handler: Handler): void {
    this.#handlers.register(funcId, handler);
  }

  /** Starts serving; resolves once it does (the supervisor is told too). A spare first waits for its index. */
  async start(recycle: RecycleOptions | undefined): Promise<void> {
    if (this.#state !== 'created') return;
    this.#recycle = recycle;
    process.on('message', (message: { t?: string }) => {
      if (message?.t === 'stop') void this.stop().then(() => process.exit(0));
    });
    if (this.channel === null) {
      this.#state = 'spare';
      // Only a head start: a spare that could not warm up still serves, a little later.
      await warmUpRuntime(this.layout.options, this.#handlers).catch(() => undefined);
      const take = await waitForIndex();
      if (this.#state !== 'spare') return; // told to stop while it waited
      this.environment = {
        ...this.environment,
        spare: false,
        group: take.group,
        index: take.index,
        globalIndex: take.globalIndex,
        generation: take.generation,
      };
      this.channel = this.layout.getChannel(take.group, take.index);
    }
    this.#serve(this.channel);
  }

  #serve(channel: WorkerChannel): void {
    const environment = this.environment;
    const recycle = this.#recycle;
    this.#runtime = new WorkerRuntime({
      layout: this.layout,
      channel,
      doorbellFd: environment.workerFds[environment.globalIndex]!,
      slotDoorbellFds: environment.slotFds,
      handlers: this.#handlers,
      waitStrategy: this.layout.options.waitStrategy,
      replyBatch: environment.replyBatch,
      // A ring we cannot trust: tell the supervisor which, and make way for a
      // replacement on a freshly formatted channel.
      onCorruptSlot: (slot, error) => this.#exitCorrupt(slot, error.message),
      onProcessed: recycle === undefined ? undefined : (count) => this.#checkRecycle(count),
      onRequestDone: (funcId, code, times, slotIndex) => {
        // The supervisor counts its own calls as their replies reach it, so that its metrics() include them
        // at once: counting them here too would count them twice.
        if (slotIndex === SUPERVISOR_SLOT) return;
        this.#metrics.recordServedTimes(funcId, code, times);
        // Metrics go out about once a second while requests are served, soon after the worker goes idle,
        // and not at all while it stays idle.
        if (this.#metricsTimer === undefined && this.#state === 'running') {
          this.#metricsTimer = setTimeout(this.#flushMetrics, METRICS_INTERVAL_MS);
          this.#metricsTimer.unref();
        }
      },
      onIdle: () => this.#metricsOnIdle(),
    });
    // The runtime serves what is already queued before it first parks: a
    // spare taking over a dead worker's channel starts on its backlog at once.
    this.#runtime.start();
    this.#state = 'running';
    process.send?.({ t: 'ready', pid: process.pid });
  }

  #exitCorrupt(slot: number, message: string): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#state = 'stopping';
    const exit = () => process.exit(EXIT_CORRUPT_CHANNEL);
    if (process.send === undefined) exit();
    else process.send({ t: 'corrupt-slot', slot, message }, undefined, {}, exit);
  }

  readonly #flushMetrics = (): void => {
    this.#metricsTimer = undefined;
    this.#metricsSoon = false;
    this.#metricsSentAt = performance.now();
    this.#sendMetrics();
  };

  // Requests were served since the last report and the queue ran dry: report them soon (not from inside the
  // serving loop), so that the supervisor's metrics() shows a burst of calls milliseconds after it ends.
  #metricsOnIdle(): void {
    if (this.#metricsTimer === undefined || this.#metricsSoon) return;
    clearTimeout(this.#metricsTimer);
    this.#metricsSoon = true;
    const wait = Math.max(0, this.#metricsSentAt + METRICS_IDLE_MS - performance.now());
    this.#metricsTimer = setTimeout(this.#flushMetrics, wait);
    this.#metricsTimer.unref();
  }

  #sendMetrics(): void {
    const delta = this.#metrics.takeDelta();
    if (delta !== null) process.send?.({ t: 'metrics', delta });
  }

  #checkRecycle(count: number): void {
    if (this.#recycleAsked || this.#recycle === undefined) return;
    const { calls, rssMb } = this.#recycle;
    const tooMany = calls !== undefined && count >= calls;
    const tooBig = rssMb !== undefined && count % RSS_CHECK_EVERY === 0 && memoryUsage.rss() / 1048576 >= rssMb;
    if (tooMany || tooBig) {
      this.#recycleAsked = true;
      process.send?.({ t: 'recycle' });
    }
  }

  /** Finishes the request in progress, then stops serving. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    this.#state = 'stopping';
    await this.#runtime?.stop();
    if (this.#metricsTimer !== undefined) clearTimeout(this.#metricsTimer);
    this.#metricsTimer = undefined;
    this.#sendMetrics();
    this.#state = 'stopped';
  }
}

// A spare says it is ready, then waits for the index it will serve. Nothing
// runs meanwhile: no timer, no spin, only the IPC channel's read.
function waitForIndex(): Promise<TakeMessage> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (!isTakeMessage(message)) return;
      process.off('message', onMessage);
      resolve(message);
    };
    process.on('message', onMessage);
    process.send?.({ t: 'spare-ready', pid: process.pid });
  });
}

/**
 * Takes this process's death-watch slot (death-notices.ts) on the main
 * thread, before it first talks to the supervisor: from then on the
 * supervisor hears of its death as soon as it begins. Without one (another
 * platform, or none was free) its death is learned when it has been reaped.
 */
function holdDeathWatch(): void {
  const deathWatch = takeDeathWatchSlot();
  if (deathWatch === null) return;
  try {
    holdDeathWatchSlot(deathWatch.fd, deathWatch.slot);
  } catch {
    // not watched early; nothing else changes
  }
}
