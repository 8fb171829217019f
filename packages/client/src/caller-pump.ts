import { performance } from 'node:perf_hooks';
import { FdWatcher } from '@phoenix-ipc/native-shm';
import type { PhoenixError } from '@phoenix-ipc/shm-layout';
import type { Reply } from './reply.js';
import { ReplyDeliveries, type ReplyHandler } from './reply-deliveries.js';
import type { Waiter } from './waiter.js';

/** The async pump spins at most this long per turn of the event loop. */
const SPIN_SLICE_US = 1000;
/** A pump chained through microtasks for longer than this yields to the event loop (timers, sockets). */
const MICROTASK_SLICE_MS = 2;
/**
 * Turns a pump takes in place, without a microtask in between, while only
 * handler calls (sendInto) settle: each microtask hop is a promise and a
 * reaction (~50 B), ~16 B per call pipelined. After these, or when a
 * promise settled (its continuation must run, and make its calls, before
 * the next flush), the next turn is a microtask again, so other microtasks
 * still get their turn.
 */
export const TURNS_IN_PLACE = 16;
/**
 * Pumps are chained as reactions of this settled promise: queueMicrotask
 * costs ~70 ns here (it makes an AsyncResource and a bound function per
 * call), a reaction ~27 ns, once per burst.
 */
const SETTLED = Promise.resolve();

/**
 * What a turn of the pump asks of the caller it drives (CallerEngine).
 * Methods only: an object with getters is made in a way that keeps
 * TurboFan from inlining loads from it, and each load became a generic
 * LoadIC call on the pump's hot path.
 */
export interface PumpHost {
  /** Publishes the requests written since the last time; true when that rang a parked worker. */
  publish(): boolean;
  /** Requests written and not yet accounted for. */
  inFlight(): number;
  /** Reads the available replies (settling their calls); how many it read. */
  drain(): number;
  /** The caller is about to wait for replies (a good time to ready the next big reply's memory). */
  prepareForWait(): void;
  /** Calls whose promise or handler is still to hear of their outcome. */
  liveCalls(): number;
  /** No call has been live for a turn of the event loop: timers kept for calls may stop. */
  idle(): void;
  closed(): boolean;
}

/**
 * The loop that keeps an async caller's calls moving, and its doorbell.
 * Each turn publishes what was written since the last, reads what arrived,
 * then waits: a spin for the Waiter's learned budget, then park, from which
 * the doorbell's watcher calls it back. Turns are chained through microtasks
 * (while promise continuations must run between them), in place (while only
 * handler calls settle), or through the event loop (every ~2 ms, so timers
 * and sockets get their turn).
 *
 * It also hands over handler calls' outcomes (sendInto) once the reader is
 * done with a ring, and keeps the doorbell's watcher referenced while calls
 * are live, so that a process with calls in flight does not exit.
 */
export class CallerPump {
  readonly #host: PumpHost;
  readonly #waiter: Waiter;
  readonly #watcher: FdWatcher;
  readonly #pumpBound = () => this.#pump();
  /** sendInto's outcomes, handed over once the reader is done (reply-deliveries.ts). */
  readonly #deliveries = new ReplyDeliveries();
  /** A turn is reading replies: it hands outcomes over itself before it returns. */
  #reading = false;
  /** #pump's loop is running: a pump asked for meanwhile is its next turn, not a microtask. */
  #looping = false;
  #again = false;
  /** A promise call settled during this turn. */
  #promiseSettled = false;
  #scheduled = false;
  #deliveryScheduled = false;
  #macrotaskAt = 0;
  #microtaskPumps = 0;
  #refed = false;
  #unrefScheduled = false;

  /** Starts watching `doorbellFd`, the eventfd workers ring while this caller is parked (unreferenced). */
  constructor(host: PumpHost, waiter: Waiter, doorbellFd: number) {
    this.#host = host;
    this.#waiter = waiter;
    this.#watcher = new FdWatcher(doorbellFd, () => this.#onDoorbell(), { drain: true, ref: false });
    this.#watcher.start();
  }

  /** A turn is running now: what it publishes next includes calls made meanwhile. */
  get looping(): boolean {
    return this.#looping;
  }

  /** Asks for a turn: the next one in place if the loop is running, else a microtask (or the event loop). */
  schedule(): void {
    if (this.#looping) {
      this.#again = true;
      return;
    }
    if (this.#scheduled || this.#host.closed()) return;
    this.#scheduled = true;
    if (this.#sliceUsedUp()) setImmediate(this.#pumpFromLoop);
    else SETTLED.then(this.#pumpBound);
  }

  /** A promise call settled: its continuation runs before the next turn (a microtask, not in place). */
  promiseSettled(): void {
    this.#promiseSettled = true;
  }

  /**
   * A handler call's outcome: the turn that read it hands it over once the
   * reader is done; settled anywhere else (a timeout, a failure, callSync's
   * reading), a microtask does.
   */
  deliver(handler: ReplyHandler, reply: Reply | null, error: PhoenixError | null): void {
    this.#deliveries.add(handler, reply, error);
    if (this.#reading || this.#deliveryScheduled) return;
    this.#deliveryScheduled = true;
    queueMicrotask(this.#deliverBound);
  }

  readonly #deliverBound = () => {
    this.#deliveryScheduled = false;
    this.#deliveries.run();
  };

  /** A call went live: the doorbell holds the process open from now on. */
  ref(): void {
    if (!this.#refed) {
      this.#refed = true;
      this.#watcher.ref();
    }
  }

  /**
   * The last live call settled. The doorbell stops holding the process open
   * a turn of the event loop later if no call came meanwhile: a caller that
   * awaits one call after another then pays no ref/unref (two native calls)
   * per call. A timer, not setImmediate: the deadline timer is stopped from
   * there, and Node forgets a cleared timer's expiry only when it next runs
   * its timers; cleared anywhere else, the timer's libuv deadline stays and
   * wakes an idle process once, for nothing (measured with strace).
   */
  unrefWhenIdle(): void {
    if (!this.#refed || this.#unrefScheduled) return;
    this.#unrefScheduled = true;
    setTimeout(this.#unrefIfIdle, 0).unref();
  }

  readonly #unrefIfIdle = (): void => {
    this.#unrefScheduled = false;
    // A closed caller's watcher is closed: it holds nothing open any more.
    if (this.#host.liveCalls() === 0 && !this.#host.closed()) {
      if (this.#refed) {
        this.#refed = false;
        this.#watcher.unref();
      }
      this.#host.idle();
    }
  };

  /** The caller closed (no more turns): the doorbell is no longer watched. */
  close(): void {
    this.#watcher.close();
    this.#waiter.wake();
  }

  // Chained through microtasks (or looping in place) the pump starves timers
  // and sockets; every 64th turn, check how long it has been since the event
  // loop had one.
  #sliceUsedUp(): boolean {
    return (++this.#microtaskPumps & 63) === 0 && performance.now() - this.#macrotaskAt > MICROTASK_SLICE_MS;
  }

  readonly #pumpFromLoop = () => {
    this.#macrotaskAt = performance.now();
    this.#pump();
  };

  // Publishes what was written, reads what arrived, then waits: a spin for
  // the learned budget, then park (the doorbell's watcher calls back). While
  // only handler calls settle, it takes its next turns in place.
  #pump(): void {
    this.#scheduled = false;
    this.#looping = true;
    try {
      for (let turn = 1; !this.#host.closed(); turn++) {
        this.#again = false;
        this.#promiseSettled = false;
        this.#reading = true;
        const again = this.#pumpOnce();
        this.#reading = false;
        // Replies read above go to their handlers now that the reader is done; the
        // calls those make go out with the next turn's flush, as one burst.
        if (this.#deliveries.count > 0) this.#deliveries.run();
        if (!(again || this.#again) || this.#scheduled) return;
        if (this.#promiseSettled || turn === TURNS_IN_PLACE) break;
        if (this.#sliceUsedUp()) {
          this.#scheduled = true;
          setImmediate(this.#pumpFromLoop);
          return;
        }
      }
    } finally {
      this.#reading = false;
      this.#looping = false;
    }
    this.schedule();
  }

  // One turn; true when it should be followed by another (replies were read, or work came during the park).
  #pumpOnce(): boolean {
    const waiter = this.#waiter;
    const host = this.#host;
    if (waiter.parked) waiter.wake();
    const rangParked = host.publish();
    if (host.inFlight() === 0) return false;
    if (host.drain() > 0) return true;
    if (rangParked) waiter.yieldToWokenPeer();
    // The wait is idle time: the next big reply's memory is readied in it (warm-reply-buffer.ts).
    host.prepareForWait();
    if (waiter.spin(this.#drainBound, SPIN_SLICE_US)) return true;
    if (waiter.neverParks) {
      // Never park while waiting; give the event loop a turn between slices.
      this.#scheduled = true;
      setImmediate(this.#pumpFromLoop);
      return false;
    }
    return !waiter.park(this.#drainBound);
  }

  readonly #drainBound = () => this.#host.drain() > 0;

  #onDoorbell(): void {
    this.#macrotaskAt = performance.now();
    if (this.#scheduled) return;
    this.#pump();
  }
}
