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
 * Only for a caller that is rarely away: once in RARE_EVERY of its replies
 * or less. One that holds every reply unread for a while (work of its own
 * between a call and its await) would have the worker spin through each of
 * those gaps to save a wake-up of ~20 µs: it parks as before.
 *
 * The budget learns, like AdaptiveSpin, from how long the caller was away
 * (from the moment the worker ran out of work): a park woken after an
 * absence of t raises the budget to cover t when t is within the ceiling,
 * and halves it when t is longer; a spin that found work keeps the budget at
 * least twice the absence so far. An idle
 * caller has read its replies: idle costs nothing more.
 */
export class UnreadReplyWait {
  /** The longest spin on: the worker loop's slice, after which the event loop gets its turn anyway. */
  static readonly CEILING_US = 2000;
  /** Below this the budget is zero: a spin this short is what the learned budget already gives. */
  static readonly FLOOR_US = 20;
  /** A caller away more often than once in this many of its replies is not waited for. */
  static readonly RARE_EVERY = 64;
  readonly #learns: boolean;
  #budgetUs: number;
  /** Per caller slot, its replies written when it was last away (free-running, as the ring counts them). */
  readonly #lastAway: number[] = [];
  /** The current (or last) absence: whose, at which reply, since when, and what it may be spun through. */
  #slot = -1;
  #served = 0;
  #awayFromMs = 0;
  #allowedUs = 0;
  #parked = false;

  constructor(strategy: WaitStrategy) {
    // 'block' parks at once and 'spin' never parks: only 'adaptive' weighs a spin against a park.
    this.#learns = strategy === 'adaptive';
    this.#budgetUs = this.#learns ? UnreadReplyWait.CEILING_US : 0;
  }

  /** Whether this strategy ever spins on ('adaptive'): the others need not look for unread replies at all. */
  get waits(): boolean {
    return this.#learns;
  }

  /**
   * The worker found nothing to do at `nowMs` while the caller of `slot` has
   * a reply of ours unread, `served` replies written to it in all (the
   * response ring's free-running count): microseconds to spin on (0: park).
   * Until another reply is written it is the same absence, whose budget a
   * spin that ended early (other work, a slot change) does not renew.
   */
  budgetFor(slot: number, served: number, nowMs: number): number {
    if (slot !== this.#slot || served !== this.#served) {
      const last = this.#lastAway[slot];
      const rare = last === undefined || (served - last) >>> 0 >= UnreadReplyWait.RARE_EVERY;
      this.#allowedUs = rare ? this.#budgetUs : 0;
      this.#lastAway[slot] = served;
      this.#slot = slot;
      this.#served = served;
      this.#awayFromMs = nowMs;
    }
    return Math.max(0, this.#allowedUs - (nowMs - this.#awayFromMs) * 1000);
  }

  /** The spin on found work at `nowMs`: keep the budget at least twice the absence so far. */
  succeeded(nowMs: number): void {
    if (this.#learns) this.#grow(2 * (nowMs - this.#awayFromMs) * 1000);
  }

  /** The worker parks during the absence that budgetFor() last spoke of. */
  parked(): void {
    this.#parked = this.#learns;
  }

  /** The worker woke (its doorbell) at `nowMs`; learns only from a park during an absence. */
  woke(nowMs: number): void {
    if (!this.#parked) return;
    this.#parked = false;
    const awayUs = (nowMs - this.#awayFromMs) * 1000;
    if (awayUs <= UnreadReplyWait.CEILING_US) this.#grow(1.25 * awayUs);
    else this.#budgetUs = this.#budgetUs / 2 < UnreadReplyWait.FLOOR_US ? 0 : this.#budgetUs / 2;
  }

  #grow(wantedUs: number): void {
    const wanted = Math.min(UnreadReplyWait.CEILING_US, wantedUs);
    if (wanted > this.#budgetUs) this.#budgetUs = wanted;
  }
}
