import { monotonicClockCell, readMonotonicClock, yieldProcessor } from '@phoenix-ipc/native-shm';
import type { WaitStrategy } from '@phoenix-ipc/shm-layout';
import { AdaptiveSpin } from './adaptive-spin.js';
import { CpuYield } from './cpu-yield.js';

/**
 * What a side with nothing to do does next: the one wait loop of PhoenixIPC,
 * in the spirit of the Disruptor's WaitStrategy. A caller waiting for
 * replies and a worker waiting for requests both use it, async (the event
 * loop wakes them through their doorbell's watcher) or blocking (callSync).
 *
 *   spin(poll)       poll until work shows up, for the learned budget at most
 *   spinOn(poll, us) the same for `us` more, when the peer is known to be back soon
 *   park(poll)       publish PARKED, look once more, and say whether to sleep
 *   wake()           back from sleep (doorbell or own work): clear PARKED, learn
 *
 * The PARKED word is the consumer half of the doorbell handshake (see
 * doorbell-flag.ts): a producer rings only a consumer that published it.
 *
 * What each strategy costs while a side waits (docs/tuning.md; on a small
 * VM a wake-up from park costs 10-30 µs, a spinning hand-off under 1 µs):
 *
 *   'spin'      a whole core per waiting side, for as long as it waits
 *               (polls in slices of `sliceUs`, yielding to the event loop in
 *               between); never parks, so producers never make a syscall.
 *               Lowest latency; only where cores are to spare.
 *   'adaptive'  after each piece of work, a spin of the learned budget
 *               (AdaptiveSpin: 4-120 µs), then park: CPU grows with the
 *               message rate and is ~0 when idle. Past YIELD_AFTER_US the
 *               spin offers its CPU to any thread queued for it at each look
 *               at the clock (sched_yield, while that pays: CpuYield), the
 *               middle step of Agrona's BackoffIdleStrategy (spin, yield,
 *               park): with more busy processes than CPUs the peer it waits
 *               for may be that thread.
 *   'block'     no spin: ~0 CPU while waiting, but a message that finds the
 *               side parked pays a wake-up, and its producer one eventfd
 *               write (one per park, thanks to the flag's compareExchange).
 */
export interface Waiter {
  /** 'spin' never parks: the side keeps polling, yielding to the event loop between slices. */
  readonly neverParks: boolean;
  /**
   * Calls `poll` until it returns true or the spin budget (at most `sliceUs`)
   * is spent; true if work showed up. The budget learns from how long work took.
   */
  spin(poll: () => boolean, sliceUs: number): boolean;
  /**
   * Calls `poll` for up to `us` more, the learned budget aside, yielding
   * as spin() does; true if work showed up. Teaches the budget nothing: for
   * a side that knows its peer will be back soon (a worker whose reply lies
   * unread, server/unread-reply-wait.ts).
   */
  spinOn(poll: () => boolean, us: number): boolean;
  /**
   * Publishes PARKED, then polls once more (a producer that wrote just before
   * saw no flag and will not ring): false if work arrived (PARKED cleared),
   * true if the side may sleep now.
   */
  park(poll: () => boolean): boolean;
  /** Clears PARKED after a sleep; the time asleep teaches the spin budget. */
  wake(): void;
  /**
   * This side has just rung a parked peer, and is about to spin for its
   * answer: 'adaptive' offers its CPU once (see SpinThenPark), the others do nothing.
   */
  yieldToWokenPeer(): void;
  /** Whether PARKED is published now. */
  readonly parked: boolean;
}

/** Polls of a spin made before it first reads the clock. */
const QUICK_POLLS = 16;

/** Spin for a learned budget (AdaptiveSpin), then park: the strategies 'adaptive', 'spin' and 'block'. */
export class SpinThenPark implements Waiter {
  /**
   * How long an 'adaptive' spin polls before it also yields. A spinning peer
   * answers a 16 B call in ~1.4 µs; a longer wait suggests the peer is not
   * running. Measured on 2 CPUs, 4 clients x 2 workers: yielding after 5 µs
   * gave ~1.7x the throughput of parking at once (the earlier rule when the
   * machine was crowded) and beat 20 µs; after 1 µs beat 5 µs by 14% (2.09
   * against 1.83 M calls/s, 4 interleaved pairs), while CpuYield keeps the
   * quick yields of an uncrowded machine rare (docs/benchmarks-history.md).
   */
  static readonly YIELD_AFTER_US = 1;
  readonly neverParks: boolean;
  readonly #learner: AdaptiveSpin;
  readonly #words: Int32Array;
  readonly #parkedIndex: number;
  readonly #yieldAfterMs: number;
  readonly #cpu: CpuYield | null;
  readonly #yieldToWoken: (() => void) | null;
  #parked = false;

  /**
   * `cpu` null: never give the CPU away while spinning, for a process whose
   * other duties must not wait behind its calls (the supervisor: see
   * supervisor.ts); it still yields once to a peer it has just woken.
   * `yieldCpu`: sched_yield, replaceable for tests.
   */
  constructor(
    strategy: WaitStrategy,
    words: Int32Array,
    parkedIndex: number,
    learner = new AdaptiveSpin(strategy),
    cpu: CpuYield | null = new CpuYield(),
    yieldCpu: () => void = yieldProcessor,
  ) {
    this.neverParks = strategy === 'spin';
    this.#learner = learner;
    this.#words = words;
    this.#parkedIndex = parkedIndex;
    // 'spin' promises the lowest latency on spare cores: a yield costs a
    // syscall (~2 µs on a small VM) even when nobody else wants the CPU.
    const yields = strategy === 'adaptive' && cpu !== null;
    this.#yieldAfterMs = yields ? SpinThenPark.YIELD_AFTER_US / 1000 : Number.POSITIVE_INFINITY;
    this.#cpu = cpu;
    // 'block' parks at once, which frees the CPU anyway; 'spin' never gives one away.
    this.#yieldToWoken = strategy === 'adaptive' ? yieldCpu : null;
  }

  get parked(): boolean {
    return this.#parked;
  }

  spin(poll: () => boolean, sliceUs: number): boolean {
    const budgetUs = Math.min(this.#learner.budgetUs, sliceUs);
    return budgetUs > 0 && this.#spinFor(poll, budgetUs, true);
  }

  spinOn(poll: () => boolean, us: number): boolean {
    return us > 0 && this.#spinFor(poll, us, false);
  }

  #spinFor(poll: () => boolean, budgetUs: number, learns: boolean): boolean {
    // A hand-off from a spinning peer mostly lands within the first polls;
    // reading the clock around them (two reads, ~50 ns each on a VM) would
    // be a good share of it, and so short a wait teaches the budget nothing.
    for (let polls = 0; polls < QUICK_POLLS; polls++) if (poll()) return true;
    const clock = monotonicClockCell;
    readMonotonicClock();
    const start = clock[0]!;
    const limitMs = budgetUs / 1000;
    // Time spent as of the last look at the clock. Work found since is
    // credited with it rather than with a fresh reading: at most 16 polls
    // (~0.5 µs) short, and the read (~45 ns) would sit between finding work
    // and doing it. The budget only learns from waits over half its floor.
    let spentMs = 0;
    for (let polls = 1; ; polls++) {
      if (poll()) {
        if (learns && spentMs > 0) this.#learner.succeeded(spentMs * 1000);
        return true;
      }
      // A clock read costs more than a poll of an empty ring: look at the clock every 16th time.
      // The native clock, not performance.now(): that returns a fresh heap number per read.
      if ((polls & 15) === 0) {
        readMonotonicClock();
        spentMs = clock[0]! - start;
        if (spentMs >= limitMs) return false;
        if (spentMs >= this.#yieldAfterMs) this.#cpu!.offer();
      }
    }
  }

  /**
   * The eventfd write that woke the peer made it runnable at once, and Linux
   * often queues a wakee on its waker's CPU, behind the waker: were this side
   * to spin there, the peer would wait for the spin to end (up to the budget,
   * 120 µs) or for the other CPU. One sched_yield hands it the CPU now; with
   * nobody queued it returns in ~1.4 µs, less than any wake-up takes. Only
   * after a ring, so at most once per wake-up of the peer, which itself costs
   * 10-30 µs: a supervisor that yielded at every look at the clock starved its
   * event loop under load (supervisor.ts), one that yields here did not.
   * Measured, NatsCaller→bridge→worker 16 B p50 (docs/benchmarks-history.md, 23rd session).
   */
  yieldToWokenPeer(): void {
    this.#yieldToWoken?.();
  }

  park(poll: () => boolean): boolean {
    // Store PARKED, then load the rings (partner: the producer's tail store,
    // then its load of PARKED in ringIfParked): one of the two sees the other.
    Atomics.store(this.#words, this.#parkedIndex, 1);
    if (poll()) {
      Atomics.store(this.#words, this.#parkedIndex, 0);
      return false;
    }
    this.#parked = true;
    readMonotonicClock();
    this.#learner.parked(monotonicClockCell[0]!);
    return true;
  }

  wake(): void {
    Atomics.store(this.#words, this.#parkedIndex, 0);
    if (!this.#parked) return;
    this.#parked = false;
    readMonotonicClock();
    this.#learner.woke(monotonicClockCell[0]!);
  }
}
