const SAFETY_WAKE_MS = 250;
const SAFETY_WAKE_MAX_MS = 4000;

/**
 * A safety net for a PARKED word a broken peer overwrote (producers then
 * cannot ring a parked worker): a look at the rings now and then. It backs
 * off, doubling up to SAFETY_WAKE_MAX_MS, while the worker stays idle, so an
 * idle worker costs next to nothing; any progress brings it back to
 * SAFETY_WAKE_MS.
 */
export class SafetyWake {
  readonly #look: () => boolean;
  readonly #progress: () => number;
  #timer: NodeJS.Timeout | undefined;
  #delayMs = 0;
  #progressAtLastLook = 0;
  #stopped = false;

  /**
   * `look` runs the loop if it is idle and work waits, and says whether it
   * did; `progress` is a counter of finished requests.
   */
  constructor(look: () => boolean, progress: () => number) {
    this.#look = look;
    this.#progress = progress;
  }

  start(): void {
    this.#arm(SAFETY_WAKE_MS);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  #arm(delayMs: number): void {
    this.#delayMs = delayMs;
    this.#timer = setTimeout(this.#onTimer, delayMs);
    this.#timer.unref();
  }

  readonly #onTimer = (): void => {
    if (this.#stopped) return;
    let next = Math.min(this.#delayMs * 2, SAFETY_WAKE_MAX_MS);
    if (this.#look()) next = SAFETY_WAKE_MS;
    else if (this.#progress() !== this.#progressAtLastLook) next = SAFETY_WAKE_MS;
    this.#progressAtLastLook = this.#progress();
    this.#arm(next);
  };
}
