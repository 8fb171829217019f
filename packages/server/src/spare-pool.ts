/**
 * Warm spare workers: processes of the worker script that have booted,
 * loaded their modules, registered their handlers and mapped the segment,
 * and then wait, parked on their IPC channel and costing nothing, until the
 * supervisor hands one a worker index. A dead (or retiring) worker's channel
 * is then served within milliseconds instead of after a fresh Node boot.
 *
 * Spares are kept per group (a VIP index takes a VIP spare, so a burst of
 * normal crashes cannot use up what VIP needs); a group whose own spares are
 * all taken borrows a ready one of the other group. When one is taken the pool boots another in the
 * background. A spare that dies before it is taken is simply replaced; one
 * that keeps failing to boot is retried after the restart backoff, and after
 * crashLoop.maxCrashes failures in a row its group runs without spares.
 *
 *   booting ──spare-ready──▶ ready ──take()──▶ (a worker index: worker-pool.ts)
 *      │                       │
 *      └──────── exit ─────────┴──▶ replaced (backoff after failures)
 */
import type { GroupName, PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { restartDelayMs } from './crash-policy.js';
import type { ResolvedServerOptions } from './server-options.js';
import type { WorkerProcess } from './worker-process.js';

export interface SpareProcess {
  readonly group: GroupName;
  readonly child: WorkerProcess;
  readonly pid: number;
  ready: boolean;
  /** Detaches the pool's listeners: the process now belongs to a worker index. */
  release(): void;
}

export interface SpareGroupStats {
  /** Booted and waiting for an index. */
  ready: number;
  /** Started, not ready yet. */
  booting: number;
  /** Their pids (ready ones first). */
  pids: number[];
}

export type SpareStats = Record<GroupName, SpareGroupStats>;

export interface SparePoolOptions {
  layout: PhoenixShmLayout;
  /** Spares kept per group, for each group with at least one worker. */
  perGroup: Record<GroupName, number>;
  restartBackoff: ResolvedServerOptions['restartBackoff'];
  maxFailures: number;
  /** A spare not ready this long after its start is killed, as a failed boot (startTimeoutMs). */
  bootTimeoutMs: number;
  /** Forks a process of the worker script in the spare role. */
  fork: () => WorkerProcess;
}

/** How long a spare that was asked to stop may take before it is killed. */
const STOP_WAIT_MS = 2000;

export class SparePool {
  readonly #options: SparePoolOptions;
  readonly #spares: Record<GroupName, SpareProcess[]> = { normal: [], vip: [] };
  readonly #failures: Record<GroupName, number> = { normal: 0, vip: 0 };
  readonly #refillTimers: Record<GroupName, NodeJS.Timeout | null> = { normal: null, vip: null };
  /** Indexes waiting for the next spare of their group to be ready (takeWhenReady). */
  readonly #waiting: Record<GroupName, ((spare: SpareProcess | null) => void)[]> = { normal: [], vip: [] };
  #active = false;

  constructor(options: SparePoolOptions) {
    this.#options = options;
  }

  /** Boots the spares; from now on the pool refills itself. */
  start(): void {
    this.#active = true;
    this.#fill('normal');
    this.#fill('vip');
  }

  /**
   * Spares that stopped booting after maxFailures failed boots in a row (a
   * script that cannot boot spares) try again: restartWorkers(), the
   * operator's way to start over once the cause is fixed.
   */
  forgive(): void {
    for (const group of ['normal', 'vip'] as const) {
      if (this.#failures[group] < this.#options.maxFailures) continue;
      this.#failures[group] = 0;
      this.#fill(group);
    }
  }

  /**
   * A ready spare of `group` (or, when it has none, of the other group),
   * removed from the pool, or null. Its successor is forked on the next turn
   * of the event loop, after the caller has sent the taken spare its index:
   * forking first would delay the takeover.
   */
  take(group: GroupName): SpareProcess | null {
    return this.#takeFrom(group) ?? this.#takeFrom(group === 'vip' ? 'normal' : 'vip');
  }

  // A spare has no group until it takes an index: when its own group has none
  // ready, a crashed index borrows one of the other group (which refills).
  #takeFrom(pool: GroupName): SpareProcess | null {
    const spares = this.#spares[pool];
    const index = spares.findIndex((spare) => spare.ready && isUsable(spare.child));
    if (index < 0) return null;
    const [spare] = spares.splice(index, 1);
    spare!.release();
    this.#publish(pool);
    setImmediate(() => this.#fill(pool));
    return spare!;
  }

  /**
   * No spare is ready but one of `group` is booting, or can boot now (the
   * refill after a take starts on the next turn of the event loop; it is
   * started here): `use` gets the first that becomes ready (or null if none
   * does: the booting ones died or hung, or the pool stopped). Booting a
   * fresh process instead would be slower than the spare that started
   * earlier, and would compete with it for the CPU. False when no spare of
   * `group` boots or can.
   */
  takeWhenReady(group: GroupName, use: (spare: SpareProcess | null) => void): boolean {
    if (!this.#active) return false;
    if (!this.#booting(group)) this.#fill(group);
    if (!this.#booting(group)) return false;
    this.#waiting[group].push(use);
    return true;
  }

  /**
   * Whether a dead index of `group` can be served by a spare, without a
   * fresh process: one is ready in either group, or one of `group` boots or
   * can boot now. The exit handler then waits the spare backoff, not the
   * cold restart's.
   */
  canReplace(group: GroupName): boolean {
    if (this.#readyIn(group) || this.#readyIn(group === 'vip' ? 'normal' : 'vip')) return true;
    return this.#active && (this.#booting(group) || this.#canBoot(group));
  }

  stats(): SpareStats {
    return { normal: this.#groupStats('normal'), vip: this.#groupStats('vip') };
  }

  /**
   * Stops refilling; a ready spare is asked to exit (SIGKILL after a grace
   * period), one still booting is killed at once: it has done nothing yet and
   * may not listen to its IPC channel so far.
   */
  async stop(): Promise<void> {
    this.#deactivate();
    const spares = [...this.#spares.normal, ...this.#spares.vip];
    for (const spare of spares) if (!spare.ready) spare.child.kill('SIGKILL');
    await Promise.all(spares.map((spare) => stopProcess(spare.child)));
  }

  /** Stops refilling and kills every spare now (start failed, or the process exits). */
  killAll(): void {
    this.#deactivate();
    for (const spare of [...this.#spares.normal, ...this.#spares.vip]) spare.child.kill('SIGKILL');
  }

  #deactivate(): void {
    this.#active = false;
    for (const group of ['normal', 'vip'] as const) {
      const timer = this.#refillTimers[group];
      if (timer !== null) clearTimeout(timer);
      this.#refillTimers[group] = null;
      for (const waiter of this.#waiting[group].splice(0)) waiter(null);
    }
  }

  // Waiters beyond the spares still booting would wait forever: they get null (a fresh process).
  #releaseWaitersIfNoneBoots(group: GroupName): void {
    const booting = this.#spares[group].filter((spare) => !spare.ready).length;
    const waiting = this.#waiting[group];
    while (waiting.length > booting) waiting.pop()!(null);
  }

  #readyIn(group: GroupName): boolean {
    return this.#spares[group].some((spare) => spare.ready && isUsable(spare.child));
  }

  #booting(group: GroupName): boolean {
    return this.#spares[group].some((spare) => !spare.ready);
  }

  #canBoot(group: GroupName): boolean {
    return (
      this.#refillTimers[group] === null &&
      this.#failures[group] < this.#options.maxFailures &&
      this.#spares[group].length < this.#options.perGroup[group]
    );
  }

  #groupStats(group: GroupName): SpareGroupStats {
    const spares = this.#spares[group];
    const ready = spares.filter((spare) => spare.ready);
    return {
      ready: ready.length,
      booting: spares.length - ready.length,
      pids: [...ready, ...spares.filter((spare) => !spare.ready)].map((spare) => spare.pid),
    };
  }

  #fill(group: GroupName): void {
    // Stops at once when a boot fails (a refill timer is then set), and for
    // good when the script cannot boot spares at all.
    while (this.#active && this.#canBoot(group)) this.#boot(group);
  }

  #boot(group: GroupName): void {
    let child: WorkerProcess;
    try {
      child = this.#options.fork();
    } catch {
      this.#failed(group);
      return;
    }
    const spares = this.#spares[group];
    // A spare that hangs while it boots would hold its place in the pool, and
    // an index waiting for it, for ever: killed, it is a failed boot.
    const bootTimer = setTimeout(() => child.kill('SIGKILL'), this.#options.bootTimeoutMs);
    bootTimer.unref();
    const onMessage = (message: { t?: string } | null) => {
      if (message?.t !== 'spare-ready') return;
      clearTimeout(bootTimer);
      spare.ready = true;
      this.#failures[group] = 0;
      // A message the spare ignores, so that 'take' is not the first it
      // reads: Node compiles its IPC read path on first use, 1.7 ms of CPU
      // (p50) a takeover would pay on a crowded machine (spare-warm-up.ts).
      try {
        child.send({ t: 'spare-ack' });
      } catch {
        // Its channel is gone: the exit handler replaces it.
      }
      const waiter = this.#waiting[group].shift();
      if (waiter !== undefined) {
        // An index waits for this very spare: hand it over without publishing it as ready.
        spares.splice(spares.indexOf(spare), 1);
        spare.release();
        setImmediate(() => this.#fill(group));
        waiter(spare);
        return;
      }
      this.#publish(group);
    };
    const onExit = () => {
      clearTimeout(bootTimer);
      const at = spares.indexOf(spare);
      if (at < 0) return;
      spares.splice(at, 1);
      if (!spare.ready) this.#failed(group);
      this.#publish(group);
      this.#fill(group);
      this.#releaseWaitersIfNoneBoots(group);
    };
    const spare: SpareProcess = {
      group,
      child,
      pid: child.pid ?? 0,
      ready: false,
      release: () => {
        clearTimeout(bootTimer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      },
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', () => {
      // A failed fork surfaces as an exit too.
    });
    spares.push(spare);
  }

  // A spare died before it was ready: boot the next one after the backoff,
  // so a script that cannot start does not fork in a tight loop.
  #failed(group: GroupName): void {
    const failures = ++this.#failures[group];
    if (!this.#active || failures >= this.#options.maxFailures || this.#refillTimers[group] !== null) return;
    this.#refillTimers[group] = setTimeout(
      () => {
        this.#refillTimers[group] = null;
        this.#fill(group);
      },
      restartDelayMs(failures, this.#options.restartBackoff),
    );
    this.#refillTimers[group].unref();
  }

  #publish(group: GroupName): void {
    this.#options.layout.setSparesReady(group, this.#groupStats(group).ready);
  }
}

function isUsable(child: WorkerProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.connected;
}

function stopProcess(child: WorkerProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_WAIT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      child.send({ t: 'stop' });
    } catch {
      child.kill('SIGKILL');
    }
  });
}
