/**
 * The supervisor's one steady timer (segment repair, the heartbeat word, the
 * hang watch, the doorbell rescue), with a period that follows the requests
 * in flight.
 *
 * An idle supervisor is as cheap as the number of times it wakes: waking a
 * Node process costs CPU whatever the callback does, 0.3 ms on a quiet
 * small VM and 5-10 ms on the same VM kind when its host is busy (measured:
 * an empty 1 s setInterval, 10.4 ms of CPU per wake-up, 2026-12-05). So the
 * timer ticks every `activeMs` while a tick finds requests in flight (the
 * doorbell rescue and the hang watch look at those), and every `idleMaxMs`
 * from the first tick that finds none: with nothing in flight there is
 * nothing to rescue or watch, and doubling the period step by step (as it
 * once did) only added wake-ups in the seconds after traffic stops.
 *
 * `idleMaxMs` is the caller's bound on how late an idle tick may come: the
 * hang watch must look at least every hangTimeoutMs / 2 to keep its promise.
 */
export interface HeartbeatOptions {
  activeMs: number;
  idleMaxMs: number;
  /** What one tick does. */
  tick: () => void;
  /** Whether requests are in flight: the period is `activeMs` while they are, moving or not. */
  busy: () => boolean;
}

export class Heartbeat {
  readonly #options: HeartbeatOptions;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#timer !== null || this.#stopped) return;
    this.#arm(this.#options.activeMs);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(periodMs: number): void {
    this.#timer = setTimeout(this.#onTimer, periodMs);
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#options.tick();
    const { activeMs, idleMaxMs } = this.#options;
    const next = this.#options.busy() ? activeMs : Math.max(activeMs, idleMaxMs);
    // tick() may have stopped the supervisor.
    if (!this.#stopped) this.#arm(next);
  };
}
