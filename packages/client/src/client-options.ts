import { describeValue, PhoenixError, type WaitStrategy } from '@phoenix-ipc/shm-layout';
import { checkQueueFullPolicy, checkTimeout, type QueueFullPolicy } from './call-options.js';
import type { CallObserver } from './caller-engine.js';
import { checkRetainFreedMemoryMb } from './retain-reply-memory.js';

export interface IpcClientOptions {
  /** When the target worker's queue is full: wait for room (default) or reject ERR_PHOENIX_QUEUE_FULL. */
  onQueueFull?: QueueFullPolicy;
  /** Timeout of call() when none is given (default 30 000 ms). callAsync has none unless given. */
  defaultTimeoutMs?: number;
  /** How this client waits for replies: 'adaptive' (default), 'spin' or 'block'. */
  waitStrategy?: WaitStrategy;
  /** Called once per finished call, for metrics. */
  observer?: CallObserver;
  /**
   * MiB of freed memory malloc keeps mapped in this process (default 64; 0
   * leaves malloc alone). A reply copied into a new Buffer is freed by the
   * GC in batches; glibc gives such memory back to the kernel past 128 KiB
   * free, and the next large reply faults fresh pages in (16 per 64 KiB).
   * At connect the client raises glibc's trim threshold to this and its mmap
   * threshold to the segment's maxPayloadBytes (retainFreedHeap in
   * @phoenix-ipc/native-shm): process-wide, raised only, no effect outside
   * glibc. docs/tuning.md, "Clients".
   */
  retainFreedMemoryMb?: number;
}

/** The options with every default filled in. */
export type ResolvedClientOptions = Required<Omit<IpcClientOptions, 'observer'>> & { observer?: CallObserver };

const CLIENT_OPTIONS: readonly (keyof IpcClientOptions)[] = [
  'onQueueFull',
  'defaultTimeoutMs',
  'waitStrategy',
  'observer',
  'retainFreedMemoryMb',
];

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

/** Checks IpcClient.create's options (ERR_PHOENIX_INVALID_ARGUMENT naming the option) and fills in the defaults. */
export function resolveClientOptions(options: IpcClientOptions): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw invalid(`options must be an object, got ${describeValue(options)}`);
  for (const [key, value] of Object.entries(options)) {
    // A misspelt option would otherwise be ignored without a word, and its default used.
    if (!CLIENT_OPTIONS.includes(key as keyof IpcClientOptions)) {
      throw invalid(`unknown option ${key} (${describeValue(value)}); the options are ${CLIENT_OPTIONS.join(', ')}`);
    }
  }
  if (options.observer !== undefined && typeof options.observer !== 'function') {
    throw invalid(`option observer must be a function, got ${describeValue(options.observer)}`);
  }
  return {
    onQueueFull: options.onQueueFull === undefined ? 'wait' : checkQueueFullPolicy(options.onQueueFull),
    defaultTimeoutMs:
      options.defaultTimeoutMs === undefined
        ? 30_000
        : checkTimeout(options.defaultTimeoutMs, 'option defaultTimeoutMs'),
    waitStrategy: checkStrategy(options.waitStrategy),
    observer: options.observer,
    retainFreedMemoryMb: checkRetainFreedMemoryMb(options.retainFreedMemoryMb),
  };
}

function checkStrategy(value: unknown): WaitStrategy {
  if (value === undefined) return 'adaptive';
  if (value !== 'adaptive' && value !== 'spin' && value !== 'block') {
    throw invalid(`option waitStrategy must be 'adaptive', 'spin' or 'block', got ${describeValue(value)}`);
  }
  return value;
}
