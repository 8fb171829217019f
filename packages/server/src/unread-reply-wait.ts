import type { WaitStrategy } from '@phoenix-ipc/shm-layout';

/**
 * How long an 'adaptive' worker with nothing to do spins on, past its
 * learned budget (AdaptiveSpin: at most 120 µs), while a caller has not read
 * a reply of ours yet.
 *
 * Such a caller is busy, and will be back with its next request. In a
 * ping-pong of big payloads that is mostly a young collection of the
 * caller's: V8 scavenges once per 32 MiB of fresh ArrayBuffers, every ~512
 * replies of 64 KiB, and each takes 0.1-0.4 ms here. A worker that parks
 * meanwhile is woken by the next request onto its caller's vCPU, and on this
 * class of guest the two then often share that vCPU for 10-30 ms, handing it
 * over with sched_yield: round trips of 30-50 µs instead of 10
 * (docs/benchmarks-history.md, forty-second session). Spinning through the
 * collection keeps the worker on a vCPU of its own.
 *
 * Only for a caller that is rarely away: once in RARE_EVERY requests or
 * less. One that holds every reply unread for a while (work of its own
 * between a call and its await) would have the worker spin through each of
 * those gaps to save a wake-up of ~20 µs: it parks as before.
 *
 * The budget learns, like AdaptiveSpin, from how long the caller was away: a
 * park that is woken after t (the spin before it included) raises the budget
 * to cover t when t is within the ceiling, and halves it when t is longer; a
 * spin that found work keeps the budget at least twice its wait. An idle
 * caller has read its replies: idle costs nothing more.
 */
export class UnreadReplyWait {
  /** The longest spin on: the worker loop's slice, after which the event loop gets its turn anyway. */
  static readonly CEILING_US = 2000;
  /** Below this the budget is zero: a spin this short is what the learned budget already gives. */
  static readonly FLOOR_US = 20;
  /** A caller away more often than once in this many requests is not waited for. */
  static readonly RARE_EVERY = 64;
  readonly #learns: boolean;
  #budgetUs: number;
  #awayAt = Number.NEGATIVE_INFINITY;
  #parkedAt = -1;
  #spentUs = 0;

  constructor(strategy: WaitStrategy) {
    // 'block' parks at once and 'spin' never parks: only 'adaptive' weighs a spin against a park.
    this.#learns = strategy === 'adaptive';
    this.#budgetUs = this.#learns ? UnreadReplyWait.CEILING_US : 0;
  }

  /**
   * The worker found nothing to do while a caller has a reply of ours unread,
   * having answered `served` requests in all: microseconds to spin on (0: park).
   */
  budgetFor(served: number): number {
    const rare = served - this.#awayAt >= UnreadReplyWait.RARE_EVERY;
    this.#awayAt = served;
    return rare ? this.#budgetUs : 0;
  }

  /** The spin on found work after `waitedUs`: keep the budget at least twice that. */
  succeeded(waitedUs: number): void {
    if (this.#learns) this.#grow(2 * waitedUs);
  }

  /** The worker parks while a caller has a reply of ours unread, after spinning on for `spentUs`. */
  parked(nowMs: number, spentUs: number): void {
    if (!this.#learns) return;
    this.#parkedAt = nowMs;
    this.#spentUs = spentUs;
  }

  /** The worker woke (its doorbell); learns only from a park with a reply unread. */
  woke(nowMs: number): void {
    if (this.#parkedAt < 0) return;
    const awayUs = this.#spentUs + (nowMs - this.#parkedAt) * 1000;
    this.#parkedAt = -1;
    if (awayUs <= UnreadReplyWait.CEILING_US) this.#grow(1.25 * awayUs);
    else this.#budgetUs = this.#budgetUs / 2 < UnreadReplyWait.FLOOR_US ? 0 : this.#budgetUs / 2;
  }

  #grow(wantedUs: number): void {
    const wanted = Math.min(UnreadReplyWait.CEILING_US, wantedUs);
    if (wanted > this.#budgetUs) this.#budgetUs = wanted;
  }
}
