/**
 * Finds workers stuck in one request for longer than hangTimeoutMs, in two
 * phases so a long task seen once is not mistaken for a hang: a transaction
 * over the limit is a suspect; the same transaction still running at the
 * next scan is confirmed, and the supervisor kills its worker (design:
 * ScanCrashedWorkers; docs/design-mapping.md).
 *
 * Idle is idle: the scan runs only while some monitor is PROCESSING. A cheap
 * look every watchMs (at most half the hang timeout, so a hang is still
 * caught within hangTimeoutMs + 2 scans) switches it on; the scan switches
 * itself off when nothing runs and nothing is suspect.
 */
import { type HungTransaction, monotonicNowMs, type PhoenixShmLayout } from '@phoenix-ipc/shm-layout';

/** Suspects by transaction key, with when they were first seen. */
export type Suspects = ReadonlyMap<string, number>;

function suspectKey(hung: HungTransaction): string {
  return `${hung.group}/${hung.workerIndex}/${hung.lane}/${hung.transaction}`;
}

/**
 * One scan's verdicts: transactions seen over the limit for the first time
 * become suspects; suspects seen again are confirmed (and stay suspects
 * until they are no longer seen); suspects not seen any more are dropped.
 */
export function advanceSuspects(
  suspects: Suspects,
  hung: readonly HungTransaction[],
  now: number,
): { suspects: Map<string, number>; confirmed: HungTransaction[] } {
  const next = new Map<string, number>();
  const confirmed: HungTransaction[] = [];
  for (const transaction of hung) {
    const key = suspectKey(transaction);
    const since = next.get(key) ?? suspects.get(key);
    if (since === undefined) next.set(key, now);
    else {
      next.set(key, since);
      confirmed.push(transaction);
    }
  }
  return { suspects: next, confirmed };
}

export interface HangDetectorOptions {
  layout: PhoenixShmLayout;
  hangTimeoutMs: number;
  /** The supervisor's steady timer; when the look falls on it, it calls onHeartbeat() instead of a timer of ours. */
  heartbeatMs: number;
  /** Scans run only while this holds (the server is running). */
  active: () => boolean;
  /** A hang was confirmed: the worker serving `hung` must go. */
  onHang: (hung: HungTransaction) => void;
}

export class HangDetector {
  readonly #options: HangDetectorOptions;
  readonly #watchMs: number;
  readonly #scanMs: number;
  #suspects: Suspects = new Map();
  #watchTimer: NodeJS.Timeout | null = null;
  #scanTimer: NodeJS.Timeout | null = null;

  constructor(options: HangDetectorOptions) {
    this.#options = options;
    const timeout = options.hangTimeoutMs;
    this.#watchMs = Math.min(options.heartbeatMs, Math.max(10, Math.floor(timeout / 2)));
    this.#scanMs = Math.min(250, Math.max(10, Math.floor(timeout / 4)));
  }

  /** Starts the cheap look, on its own timer when it is quicker than the heartbeat. */
  start(): void {
    if (this.#watchMs < this.#options.heartbeatMs && this.#watchTimer === null) {
      this.#watchTimer = setInterval(() => this.#look(), this.#watchMs);
      this.#watchTimer.unref();
    }
  }

  /**
   * The longest the supervisor's heartbeat may go between ticks while idle
   * without breaking the hang watch's promise: half the hang timeout when
   * the watch rides on the heartbeat, no bound when it has its own timer.
   */
  get heartbeatBoundMs(): number {
    return this.#watchMs === this.#options.heartbeatMs
      ? Math.max(this.#options.heartbeatMs, Math.floor(this.#options.hangTimeoutMs / 2))
      : Number.POSITIVE_INFINITY;
  }

  /** The supervisor's heartbeat ticked. */
  onHeartbeat(): void {
    if (this.#watchMs === this.#options.heartbeatMs) this.#look();
  }

  stop(): void {
    if (this.#watchTimer !== null) clearInterval(this.#watchTimer);
    if (this.#scanTimer !== null) clearInterval(this.#scanTimer);
    this.#watchTimer = null;
    this.#scanTimer = null;
  }

  #look(): void {
    if (this.#scanTimer !== null || !this.#options.active() || !this.#anyProcessing()) return;
    this.#scanTimer = setInterval(() => {
      this.#scan();
      if (this.#suspects.size === 0 && !this.#anyProcessing()) {
        clearInterval(this.#scanTimer!);
        this.#scanTimer = null;
      }
    }, this.#scanMs);
    this.#scanTimer.unref();
  }

  #scan(): void {
    const now = monotonicNowMs();
    const hung = this.#options.layout.scanHungTransactions(now, this.#options.hangTimeoutMs);
    const verdict = advanceSuspects(this.#suspects, hung, now);
    this.#suspects = verdict.suspects;
    for (const transaction of verdict.confirmed) this.#options.onHang(transaction);
  }

  #anyProcessing(): boolean {
    for (const channel of this.#options.layout.channels) {
      for (const monitor of channel.monitors) if (monitor.isProcessing()) return true;
    }
    return false;
  }
}
