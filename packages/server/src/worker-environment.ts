import type { GroupName } from '@phoenix-ipc/shm-layout';
import type { RecycleOptions } from './server-options.js';

/**
 * A worker process learns its role from one environment variable the
 * supervisor sets: PHOENIX_IPC_WORKER, a JSON document describing it. Its
 * doorbell eventfds arrive as inherited descriptors (after the IPC channel).
 */
export const WORKER_ENV = 'PHOENIX_IPC_WORKER';

/**
 * `<fd>:<slot>`: the death-watch memfd and the slot this worker holds (see
 * death-notices.ts). Read and removed by the worker at start.
 */
export const DEATH_WATCH_ENV = 'PHOENIX_IPC_DEATH_WATCH';

/** The death-watch slot this process should hold, taken out of the environment; null if none. */
export function takeDeathWatchSlot(): { fd: number; slot: number } | null {
  const text = process.env[DEATH_WATCH_ENV];
  delete process.env[DEATH_WATCH_ENV];
  const match = /^(\d+):(\d+)$/.exec(text ?? '');
  if (match === null) return null;
  return { fd: Number(match[1]), slot: Number(match[2]) };
}

export interface WorkerEnvironment {
  /** Segment name the worker serves. */
  name: string;
  epoch: number;
  group: GroupName;
  index: number;
  globalIndex: number;
  generation: number;
  supervisorPid: number;
  /**
   * A warm spare: booted and attached, serving no index until the supervisor
   * hands it one ({t:'take'}); group/index/globalIndex/generation are then
   * those of the message, not these placeholders.
   */
  spare?: boolean;
  /** Eventfd numbers in this process: one per worker (by global index), then one per caller slot. */
  workerFds: number[];
  slotFds: number[];
  recycleAfter?: RecycleOptions;
  /** The replyBatch option (concurrency 1). */
  replyBatch?: number;
}

/** What the supervisor sends a spare to make it serve a worker index at once. */
export interface TakeMessage {
  t: 'take';
  group: GroupName;
  index: number;
  globalIndex: number;
  generation: number;
}

export function isTakeMessage(message: unknown): message is TakeMessage {
  const m = message as Partial<TakeMessage> | null;
  return (
    m !== null &&
    typeof m === 'object' &&
    m.t === 'take' &&
    (m.group === 'normal' || m.group === 'vip') &&
    Number.isInteger(m.index) &&
    Number.isInteger(m.globalIndex) &&
    Number.isInteger(m.generation)
  );
}

export function encodeWorkerEnvironment(environment: WorkerEnvironment): string {
  return JSON.stringify(environment);
}

/**
 * This process's own description, once read. The worker side deletes the
 * variable (the worker's children are not workers), and this process stays a
 * worker all the same: its guard against becoming a supervisor by accident
 * must hold after its server exists too.
 */
let thisProcess: WorkerEnvironment | null = null;

/** The worker description if this process is a PhoenixIPC worker, else null. */
export function readWorkerEnvironment(env: NodeJS.ProcessEnv = process.env): WorkerEnvironment | null {
  const own = env === process.env;
  if (own && thisProcess !== null) return thisProcess;
  const raw = env[WORKER_ENV];
  if (raw === undefined || raw === '') return null;
  try {
    const parsed = JSON.parse(raw) as WorkerEnvironment;
    if (typeof parsed.name === 'string' && Array.isArray(parsed.workerFds) && Array.isArray(parsed.slotFds)) {
      if (own) thisProcess = parsed;
      return parsed;
    }
  } catch {
    // fall through
  }
  return null;
}

/**
 * Tells the supervisor why this worker is about to fail before serving, so
 * that its start() rejects with that reason rather than a bare exit code. The
 * message is written to the IPC channel at once (libuv writes a pipe
 * synchronously when it can), before the process dies of the error.
 */
export function reportWorkerStartFailure(message: string): void {
  try {
    process.send?.({ t: 'start-failed', message });
  } catch {
    // no channel: the exit code is all the supervisor gets
  }
}
