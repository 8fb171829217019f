/**
 * What the supervisor does when a worker process exits, as pure functions
 * over plain data (OTP's supervisor keeps restart intensity as data checked
 * by one function; so do we). No timers, no processes: the supervisor reads
 * the clock and acts on the verdicts, and each rule is tested on its own
 * (test/crash-policy.test.ts).
 */
import type { CrashLoopOptions, RestartBackoffOptions, WorkerCrashPolicy } from './server-options.js';
import { EXIT_CORRUPT_CHANNEL, EXIT_NOT_SUPERVISED, EXIT_SUPERVISOR_GONE } from './worker-exit-codes.js';

/** A crash that follows a quiet minute starts the backoff from the beginning again. */
export const QUIET_PERIOD_MS = 60_000;

/** Fields of a worker-crash event and of the ERR_PHOENIX_WORKER_CRASHED error. */
export interface WorkerCrashInfo {
  group: 'normal' | 'vip';
  workerIndex: number;
  pid: number;
  signal: string | null;
  exitCode: number | null;
  /** 'exit': the process died; 'hang': the hang scan killed it; 'corrupt': it met a corrupt channel. */
  reason: 'exit' | 'hang' | 'corrupt';
}

// ------------------------------------------------------------ exits

/** How a worker process ended, from its exit status alone. */
export type ExitKind = 'clean' | 'signal' | 'corrupt-channel' | 'supervisor-lost' | 'crashed';

export function classifyExit(exitCode: number | null, signal: string | null): ExitKind {
  if (signal !== null) return 'signal';
  if (exitCode === 0) return 'clean';
  if (exitCode === EXIT_CORRUPT_CHANNEL) return 'corrupt-channel';
  if (exitCode === EXIT_NOT_SUPERVISED || exitCode === EXIT_SUPERVISOR_GONE) return 'supervisor-lost';
  return 'crashed';
}

/**
 * What an exit means for the supervisor:
 *  - 'stopped': the server is stopping, or it asked this worker to stop;
 *  - 'start-failure': it died before serving while the server starts (start() rejects);
 *  - 'retired': it was asked to finish and leave (restartWorkers, recycle): replace it now;
 *  - 'crashed': anything else, a clean exit nobody asked for included.
 */
export type ExitRoute = 'stopped' | 'start-failure' | 'retired' | 'crashed';

export interface ExitContext {
  serverState: 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
  plannedExit: 'stop' | 'retire' | null;
  /** It had reported serving before it exited. */
  wasReady: boolean;
}

export function routeExit({ serverState, plannedExit, wasReady }: ExitContext): ExitRoute {
  if (serverState === 'stopping' || serverState === 'stopped' || plannedExit === 'stop') return 'stopped';
  if (serverState === 'starting' && !wasReady) return 'start-failure';
  if (plannedExit === 'retire') return 'retired';
  return 'crashed';
}

/**
 * The reason a crash is reported with. The hang scan's kill wins (its
 * SIGKILL is the exit seen); a channel reported corrupt (by the worker, a
 * client or the supervisor's own caller) makes it 'corrupt' however it died.
 */
export function crashReason(
  kind: ExitKind,
  killedForHang: boolean,
  corruptReported: boolean,
): WorkerCrashInfo['reason'] {
  if (killedForHang) return 'hang';
  if (corruptReported || kind === 'corrupt-channel') return 'corrupt';
  return 'exit';
}

// ------------------------------------------------ crash-loop window, backoff

/** A worker index's recent crashes (it survives restarts; restartWorkers() forgives it). */
export interface CrashHistory {
  /** CLOCK_MONOTONIC ms of the crashes inside the crash-loop window. */
  readonly times: readonly number[];
  /** Crashes since the last quiet period: drives the backoff. */
  readonly consecutive: number;
  readonly lastAt: number;
}

export const NO_CRASHES: CrashHistory = { times: [], consecutive: 0, lastAt: 0 };

/** The history after a crash at `now`: the window keeps what is at most `windowMs` old. */
export function recordCrash(history: CrashHistory, now: number, windowMs: number): CrashHistory {
  const consecutive = now - history.lastAt > QUIET_PERIOD_MS ? 1 : history.consecutive + 1;
  const times = history.times.filter((at) => now - at <= windowMs);
  times.push(now);
  return { times, consecutive, lastAt: now };
}

/** More than maxCrashes inside the window: the worker is left down. */
export function isCrashLooping(history: CrashHistory, loop: Required<CrashLoopOptions>): boolean {
  return history.times.length > loop.maxCrashes;
}

/** The wait before the replacement of the `consecutive`-th crash in a row (1-based). */
export function restartDelayMs(consecutive: number, backoff: Required<RestartBackoffOptions>): number {
  return Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (consecutive - 1));
}

/**
 * The wait before a crashed index takes a warm spare. The first crash after
 * a quiet period takes one at once (that is what spares are for); after that
 * the backoff applies, one step behind the cold-restart backoff, so an index
 * that keeps crashing cannot burn through the spares any faster than it
 * could restart cold.
 */
export function spareDelayMs(consecutive: number, backoff: Required<RestartBackoffOptions>): number {
  return consecutive <= 1 ? 0 : restartDelayMs(consecutive - 1, backoff);
}

/** restartWorkers() starts afresh: the window and the backoff are cleared. */
export function forgiveCrashes(history: CrashHistory): CrashHistory {
  return { times: [], consecutive: 0, lastAt: history.lastAt };
}

// ------------------------------------------------------------- retries

/**
 * Whether the request a worker died on runs again. Never during shutdown
 * (`answering` false: nobody will run it), never under 'fail', else while
 * the attempt that died is within the retries.
 */
export function shouldRetry(policy: WorkerCrashPolicy, attempt: number, answering: boolean): boolean {
  return answering && policy !== 'fail' && attempt <= policy.retries;
}
