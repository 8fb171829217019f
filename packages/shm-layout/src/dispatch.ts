/**
 * Least-loaded dispatch: the one definition of which worker of a group a
 * call goes to, shared by the layout's findBest*Worker and every caller.
 *
 * Load is a worker's PENDING count (requests sent to it and not yet
 * answered, over all callers). A RUNNING worker is preferred; when none of
 * the group runs, a worker that will (STARTING, RESTARTING, RETIRING — or a
 * state word a broken peer overwrote) takes the call and serves it when it
 * is up. Only DOWN and STOPPED say a worker will never answer.
 */

import type { WorkerChannel } from './worker-channel.js';
import { WorkerState } from './worker-record.js';

/** No worker of the group can ever answer: fail the call (ERR_PHOENIX_UNAVAILABLE). */
export const NO_WORKER = -1;
/** The only workers that could answer are closed to this caller for now (a channel being reset): wait. */
export const WAIT_FOR_WORKER = -2;

export interface DispatchOptions {
  /** A worker (global index) that must not get the call: the dead one its requests are moving away from. */
  exclude?: number;
  /** Per global index, non-zero when this caller may not use that worker's channel right now. */
  closed?: Uint8Array;
  /**
   * Whether a worker that is not running yet may take the call. Failover
   * moves requests only to running siblings: the others wait in place for
   * their own worker's replacement.
   */
  allowNotRunning?: boolean;
  /**
   * Per global index, load this caller added and has not published to
   * PENDING yet (it publishes its counts once per burst): counted as if it
   * had, so the calls of one burst still spread over the group.
   */
  unpublished?: Int32Array;
  /**
   * A caller's readings of the group's state and PENDING words, taken once
   * per burst instead of once per call (see BurstReadings).
   */
  readings?: BurstReadings;
}

/**
 * The state and PENDING words of each worker as one caller read them in the
 * current burst. Every caller and worker writes those lines, so reading them
 * for each call of a burst costs a cache miss a call on a crowded machine
 * (measured: ~24 ns of a 4 clients x 2 workers call). Within a burst the
 * caller's own additions count through `unpublished`, and what others did
 * since the burst began shows in the next one: the spread stays least-loaded
 * at the grain of a burst (microseconds), and a worker that stopped since
 * is handled like one that stops just after a fresh read (failover).
 * The owner calls nextBurst() whenever it publishes its counts.
 */
export class BurstReadings {
  readonly #state: Int32Array;
  readonly #pending: Int32Array;
  /** Per global index, the burst its reading belongs to. */
  readonly #readIn: Int32Array;
  #burst = 1;

  constructor(channels: number) {
    this.#state = new Int32Array(channels);
    this.#pending = new Int32Array(channels);
    this.#readIn = new Int32Array(channels);
  }

  /** The readings so far are stale: the next look at each worker reads its words again. */
  nextBurst(): void {
    this.#burst = (this.#burst + 1) | 0;
  }

  /** `channel`'s state word, read unless this burst already did (with its PENDING word). */
  stateOf(channel: WorkerChannel): number {
    const index = channel.globalIndex;
    if (this.#readIn[index] !== this.#burst) {
      this.#readIn[index] = this.#burst;
      this.#state[index] = channel.state;
      this.#pending[index] = channel.pending;
    }
    return this.#state[index]!;
  }

  /** The PENDING word read with the state (stateOf first). */
  pending(index: number): number {
    return this.#pending[index]!;
  }
}

function willAnswer(state: number): boolean {
  return state !== WorkerState.Down && state !== WorkerState.Stopped;
}

/**
 * The global index of the least-loaded usable worker of `group`,
 * WAIT_FOR_WORKER when the only ones that could answer are closed to this
 * caller, or NO_WORKER.
 */
export function leastLoadedWorker(group: readonly WorkerChannel[], options: DispatchOptions = {}): number {
  const exclude = options.exclude ?? -1;
  const closed = options.closed;
  const allowNotRunning = options.allowNotRunning ?? true;
  const unpublished = options.unpublished;
  const readings = options.readings;
  let best = NO_WORKER;
  let bestLoad = Number.POSITIVE_INFINITY;
  let fallback = NO_WORKER;
  let fallbackLoad = Number.POSITIVE_INFINITY;
  let closedButAlive = false;
  for (let i = 0; i < group.length; i++) {
    const channel = group[i]!;
    const globalIndex = channel.globalIndex;
    if (globalIndex === exclude) continue;
    const state = readings === undefined ? channel.state : readings.stateOf(channel);
    if (closed !== undefined && closed[globalIndex] !== 0) {
      if (willAnswer(state)) closedButAlive = true;
      continue;
    }
    const pending = readings === undefined ? channel.pending : readings.pending(globalIndex);
    const load = unpublished === undefined ? pending : pending + unpublished[globalIndex]!;
    if (state === WorkerState.Running) {
      if (load < bestLoad) {
        best = globalIndex;
        bestLoad = load;
      }
    } else if (allowNotRunning && willAnswer(state) && load < fallbackLoad) {
      fallback = globalIndex;
      fallbackLoad = load;
    }
  }
  if (best !== NO_WORKER) return best;
  if (fallback !== NO_WORKER) return fallback;
  return closedButAlive ? WAIT_FOR_WORKER : NO_WORKER;
}

/**
 * Per global index, what the worker's request rings hold beyond its PENDING
 * count, so that `unpublished` makes its load the larger of the two: callers
 * keep PENDING, and requests written into the rings by other means (a test, a
 * tool) count too. For the layout's findBest*Worker, not a caller's path: it
 * walks every ring of every slot.
 */
export function queuedBeyondPending(channels: readonly WorkerChannel[], slotCount: number): Int32Array {
  const extra = new Int32Array(channels.length);
  for (const channel of channels) {
    let queued = 0;
    for (let slot = 0; slot < slotCount; slot++) {
      try {
        queued += channel.attachRequestRing(slot).size();
      } catch {
        // a ring that fails validation adds nothing
      }
    }
    extra[channel.globalIndex] = Math.max(0, queued - channel.pending);
  }
  return extra;
}
