import type { QueueFullPolicy } from '@phoenix-ipc/client';
import { checkQueueFullPolicy, checkRetainFreedMemoryMb, checkTimeout } from '@phoenix-ipc/client/internal';
import {
  describeValue,
  type LayoutOptions,
  PhoenixError,
  type ResolvedLayoutOptions,
  resolveLayoutOptions,
} from '@phoenix-ipc/shm-layout';

export type WorkerCrashPolicy = 'fail' | { retries: number };

export interface RestartBackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
}

export interface CrashLoopOptions {
  maxCrashes?: number;
  windowMs?: number;
}

export interface RecycleOptions {
  /** Replace a worker after it has served this many calls. */
  calls?: number;
  /** Replace a worker once its resident memory exceeds this many MiB. */
  rssMb?: number;
}

export interface IpcServerOptions extends LayoutOptions {
  /** Default 4. */
  normalWorkers?: number;
  /** Default 2; 0 sends High-priority calls to the normal group. */
  vipWorkers?: number;
  /**
   * Warm spare worker processes kept booted per group that has workers
   * (default 1; 0 turns them off). A spare has loaded the script, registered
   * its handlers and mapped the segment, and waits costing nothing; when a
   * worker dies (or is recycled or restarted) a spare takes its index over
   * within milliseconds, and another spare boots in the background. A spare
   * runs the worker script up to start(): side effects at the top of the
   * script happen in spares too.
   */
  spareWorkers?: number;
  /** Handlers a worker runs at once (default 1). */
  concurrency?: number;
  /**
   * With concurrency 1: replies a worker publishes with one tail store at
   * most (default 1: each reply on its own, measured best on two vCPUs). A
   * worker publishes what it has staged after this many replies, or as soon
   * as the caller's ring runs dry, so a batch never waits for more requests.
   * docs/tuning.md, "Batching".
   */
  replyBatch?: number;
  /** The supervisor's own calls when a queue is full: 'wait' (default) or 'reject'. */
  onQueueFull?: QueueFullPolicy;
  /** Timeout of the supervisor's call() when none is given (default 30 000 ms). */
  defaultTimeoutMs?: number;
  /** What happens to the request a worker died on: 'fail' (default) or { retries: n }. */
  onWorkerCrash?: WorkerCrashPolicy;
  restartBackoff?: RestartBackoffOptions;
  crashLoop?: CrashLoopOptions;
  /** Passed to each worker's Node as --max-old-space-size. */
  workerMaxOldSpaceMb?: number;
  /**
   * MiB of freed memory malloc keeps mapped in the supervisor process, for
   * its own calls' replies (default 64; 0 leaves malloc alone): IpcClient's
   * option of the same name, applied at the supervisor's first call.
   * Without it a 64 KiB reply can fault in 16 fresh pages per call.
   */
  retainFreedMemoryMb?: number;
  /**
   * The environment of worker and spare processes (default: the
   * supervisor's, as it is when each process starts); a key set to undefined
   * is left out. Each worker boot pays for what its environment asks of
   * Node: NODE_EXTRA_CA_CERTS, for one, makes every Node process parse that
   * CA bundle as it starts (measured: 18 ms → 60 ms of CPU per start), time
   * a crashed worker's replacement waits for. Workers that make no TLS
   * connections can leave it out.
   */
  workerEnv?: Record<string, string | undefined>;
  recycleAfter?: RecycleOptions;
  /** How long start() waits for the workers to serve (default 30 000 ms). */
  startTimeoutMs?: number;
  /** Permission bits of the segment (default 0o600: the owner's user only). */
  mode?: number;
  /**
   * In a worker process only: create the supervisor of another segment on
   * purpose. Without it, IpcServer.create in a worker refuses any name but
   * the one it serves (a cluster-style script that computes its segment name
   * differently in the worker would otherwise spawn workers recursively).
   */
  nestedSupervisor?: boolean;
}

export interface ResolvedServerOptions {
  layout: ResolvedLayoutOptions;
  spareWorkers: number;
  replyBatch: number;
  onQueueFull: QueueFullPolicy;
  defaultTimeoutMs: number;
  onWorkerCrash: WorkerCrashPolicy;
  restartBackoff: Required<RestartBackoffOptions>;
  crashLoop: Required<CrashLoopOptions>;
  workerMaxOldSpaceMb: number | undefined;
  retainFreedMemoryMb: number;
  /** Null: the supervisor's environment at each start. */
  workerEnv: Readonly<Record<string, string>> | null;
  recycleAfter: RecycleOptions | undefined;
  startTimeoutMs: number;
  mode: number;
  nestedSupervisor: boolean;
}

function invalid(name: string, value: unknown, expected: string): PhoenixError {
  return new PhoenixError(
    'ERR_PHOENIX_INVALID_ARGUMENT',
    `option ${name} must be ${expected}, got ${describeValue(value)}`,
  );
}

function positive(name: string, value: unknown, integer = true, min = 1): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw invalid(name, value, `${integer ? 'an integer' : 'a number'} >= ${min}`);
  }
  return value;
}

/** The longest delay a Node timer takes: a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration a timer waits for: from `min` to MAX_TIMER_MS milliseconds. */
function duration(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw invalid(name, value, `a number of milliseconds from ${min} to ${MAX_TIMER_MS} (2^31-1)`);
  }
  return value;
}

/** Each spare is a whole Node process: more than a few per group buys nothing. */
const MAX_SPARE_WORKERS = 16;
/**
 * Replies per tail store by default: 1, measured (docs/tuning.md, "Batching"):
 * on two vCPUs a closed-loop caller waits for a batch it could have been
 * working through, and 16 or 64 gave 10-30% fewer calls/s than 1.
 */
export const DEFAULT_REPLY_BATCH = 1;
/** A worker serves at most 64 requests of a slot in a row: a larger batch would never fill. */
const MAX_REPLY_BATCH = 64;

function count(name: string, value: unknown, max: number): number {
  return between(name, value, 0, max);
}

function between(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function object(name: string, value: unknown, keys?: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(name, value, 'an object');
  // A misspelt key would leave its default in place without a word, as at the top level.
  if (keys !== undefined) {
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) {
        throw new PhoenixError(
          'ERR_PHOENIX_INVALID_ARGUMENT',
          `option ${name} has no key ${JSON.stringify(key)}; it takes ${keys.join(', ')}`,
        );
      }
    }
  }
  return value as Record<string, unknown>;
}

// Names and values as execve takes them: no '=' in a name, no NUL anywhere.
function environment(name: string, value: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, entry] of Object.entries(object(name, value))) {
    if (entry === undefined) continue;
    if (key === '' || key.includes('=') || key.includes('\0'))
      throw invalid(name, key, 'variable names without "=" or NUL');
    if (typeof entry !== 'string' || entry.includes('\0'))
      throw invalid(`${name}.${key}`, entry, 'a string without NUL, or undefined');
    env[key] = entry;
  }
  return env;
}

const KNOWN = new Set([
  'normalWorkers',
  'vipWorkers',
  'normalQueueCapacity',
  'vipQueueCapacity',
  'maxPayloadBytes',
  'maxClients',
  'hangTimeoutMs',
  'concurrency',
  'waitStrategy',
  'onQueueFull',
  'defaultTimeoutMs',
  'onWorkerCrash',
  'restartBackoff',
  'crashLoop',
  'workerMaxOldSpaceMb',
  'retainFreedMemoryMb',
  'workerEnv',
  'recycleAfter',
  'startTimeoutMs',
  'mode',
  'nestedSupervisor',
  'spareWorkers',
  'replyBatch',
]);

/** Validates every option; throws ERR_PHOENIX_INVALID_ARGUMENT naming the option and its value. */
export function resolveServerOptions(options: IpcServerOptions = {}): ResolvedServerOptions {
  const given = object('options', options);
  for (const key of Object.keys(given)) {
    if (!KNOWN.has(key)) {
      throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `unknown option ${key} (${describeValue(given[key])})`);
    }
  }
  const layout = resolveLayoutOptions(options);
  let onWorkerCrash: WorkerCrashPolicy = 'fail';
  if (options.onWorkerCrash !== undefined && options.onWorkerCrash !== 'fail') {
    const policy = object('onWorkerCrash', options.onWorkerCrash, ['retries']);
    const retries = policy.retries;
    if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > 100) {
      throw invalid('onWorkerCrash', options.onWorkerCrash, "'fail' or { retries: n } with n an integer from 0 to 100");
    }
    onWorkerCrash = { retries };
  }
  const backoff =
    options.restartBackoff === undefined
      ? {}
      : object('restartBackoff', options.restartBackoff, ['initialMs', 'maxMs', 'factor']);
  const restartBackoff = {
    initialMs: backoff.initialMs === undefined ? 100 : duration('restartBackoff.initialMs', backoff.initialMs, 0),
    maxMs: backoff.maxMs === undefined ? 10_000 : duration('restartBackoff.maxMs', backoff.maxMs, 0),
    factor: backoff.factor === undefined ? 2 : positive('restartBackoff.factor', backoff.factor, false, 1),
  };
  const loop =
    options.crashLoop === undefined ? {} : object('crashLoop', options.crashLoop, ['maxCrashes', 'windowMs']);
  const crashLoop = {
    maxCrashes: loop.maxCrashes === undefined ? 5 : positive('crashLoop.maxCrashes', loop.maxCrashes),
    windowMs: loop.windowMs === undefined ? 60_000 : positive('crashLoop.windowMs', loop.windowMs, false),
  };
  let recycleAfter: RecycleOptions | undefined;
  if (options.recycleAfter !== undefined) {
    const recycle = object('recycleAfter', options.recycleAfter, ['calls', 'rssMb']);
    recycleAfter = {
      calls: recycle.calls === undefined ? undefined : positive('recycleAfter.calls', recycle.calls),
      rssMb: recycle.rssMb === undefined ? undefined : positive('recycleAfter.rssMb', recycle.rssMb, false),
    };
  }
  const mode = options.mode ?? 0o600;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777)
    throw invalid('mode', mode, 'permission bits within 0..0o777');
  return {
    layout,
    spareWorkers:
      options.spareWorkers === undefined ? 1 : count('spareWorkers', options.spareWorkers, MAX_SPARE_WORKERS),
    replyBatch:
      options.replyBatch === undefined
        ? DEFAULT_REPLY_BATCH
        : between('replyBatch', options.replyBatch, 1, MAX_REPLY_BATCH),
    onQueueFull: options.onQueueFull === undefined ? 'wait' : checkQueueFullPolicy(options.onQueueFull),
    defaultTimeoutMs:
      options.defaultTimeoutMs === undefined
        ? 30_000
        : checkTimeout(options.defaultTimeoutMs, 'option defaultTimeoutMs'),
    onWorkerCrash,
    restartBackoff,
    crashLoop,
    workerMaxOldSpaceMb:
      options.workerMaxOldSpaceMb === undefined
        ? undefined
        : positive('workerMaxOldSpaceMb', options.workerMaxOldSpaceMb),
    retainFreedMemoryMb: checkRetainFreedMemoryMb(options.retainFreedMemoryMb),
    workerEnv: options.workerEnv === undefined ? null : environment('workerEnv', options.workerEnv),
    recycleAfter,
    startTimeoutMs:
      options.startTimeoutMs === undefined ? 30_000 : duration('startTimeoutMs', options.startTimeoutMs, 1),
    mode,
    nestedSupervisor: booleanOption('nestedSupervisor', options.nestedSupervisor),
  };
}

function booleanOption(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(name, value, 'a boolean');
  return value;
}
