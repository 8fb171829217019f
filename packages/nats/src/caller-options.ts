/** NatsCaller's own options, checked as IpcClient checks its own. */
import { PhoenixError } from '@phoenix-ipc/client';
import { checkTimeout } from '@phoenix-ipc/client/internal';

export interface NatsCallerOptions {
  /** Timeout of calls that give none, for call() and callAsync() alike (default 30000 ms; Infinity: none). */
  defaultTimeoutMs?: number;
}

export function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

const KNOWN_OPTIONS = new Set(['defaultTimeoutMs']);

/** The default timeout the options give; ERR_PHOENIX_INVALID_ARGUMENT for options that are not NatsCallerOptions. */
export function checkCallerOptions(options: unknown): number {
  if (options === undefined) return 30_000;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('NatsCaller options must be an object such as { defaultTimeoutMs: 5000 }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key))
      throw invalid(`NatsCaller: unknown option ${JSON.stringify(key)} (known: defaultTimeoutMs)`);
  }
  const { defaultTimeoutMs } = options as NatsCallerOptions;
  return defaultTimeoutMs === undefined ? 30_000 : checkTimeout(defaultTimeoutMs, 'option defaultTimeoutMs');
}
