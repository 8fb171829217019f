/**
 * The calls waiting on each AbortSignal. A signal gets one 'abort' listener
 * however many calls share it: one listener per call made an application that
 * passes one signal to a batch of calls trip Node's MaxListenersExceededWarning
 * at the eleventh call in flight, and made every abort walk that many closures.
 */
interface Watched<T> {
  readonly calls: Set<T>;
  readonly listener: () => void;
}

export class AbortWatch<T> {
  readonly #watched = new Map<AbortSignal, Watched<T>>();
  readonly #onAbort: (call: T) => void;

  /** `onAbort` gives up on one call; it is called once per call of a signal that fires. */
  constructor(onAbort: (call: T) => void) {
    this.#onAbort = onAbort;
  }

  add(signal: AbortSignal, call: T): void {
    const watched = this.#watched.get(signal);
    if (watched !== undefined) {
      watched.calls.add(call);
      return;
    }
    const calls = new Set<T>([call]);
    const listener = () => this.#fire(signal, calls);
    this.#watched.set(signal, { calls, listener });
    signal.addEventListener('abort', listener, { once: true });
  }

  /** The call settled: it no longer waits on the signal, and the signal's listener goes with its last call. */
  remove(signal: AbortSignal, call: T): void {
    const watched = this.#watched.get(signal);
    if (watched === undefined || !watched.calls.delete(call) || watched.calls.size > 0) return;
    this.#watched.delete(signal);
    signal.removeEventListener('abort', watched.listener);
  }

  #fire(signal: AbortSignal, calls: Set<T>): void {
    // Each call leaves the set before it is given up on. One that settled meanwhile (giving up on another can
    // settle it, and a pooled call object may then carry a new call) has left already and is skipped.
    for (const call of [...calls]) if (calls.delete(call)) this.#onAbort(call);
    if (this.#watched.get(signal)?.calls === calls) this.#watched.delete(signal);
  }
}
