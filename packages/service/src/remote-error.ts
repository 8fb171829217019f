import { PhoenixError } from '@phoenix-ipc/client';
import type { RemoteError } from '@phoenix-ipc/ringbuffer';
import { describeThrown, toJsonSafe } from '@phoenix-ipc/shm-layout';
import type { Codec } from './codec.js';

/**
 * Handler side: what a service handler threw, as the error that travels.
 * A PhoenixError keeps its code and facts (it may be the ERR_PHOENIX_TIMEOUT
 * of a call the handler made). Anything else becomes
 * ERR_PHOENIX_HANDLER_FAILED with `remote` (its name, message, code and own
 * enumerable fields, JSON-safe) and `remoteData` (the same encoded with the
 * service's codec, so that Dates, Maps, BigInts... survive; fields whose
 * values the codec cannot encode are left out).
 */
export function failureOf(thrown: unknown, codec: Codec): PhoenixError {
  if (PhoenixError.isInstance(thrown)) return thrown;
  const description = describeThrown(thrown);
  const remoteData = encodeDescription(description, codec);
  const remote = toJsonSafe(description) as RemoteError | undefined;
  return new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', description.message, {
    remoteName: description.name,
    remoteStack: thrown instanceof Error ? thrown.stack : undefined,
    remote:
      typeof remote === 'object' && remote !== null ? remote : { name: description.name, message: description.message },
    remoteData,
  });
}

function encodeDescription(thrown: RemoteError, codec: Codec): Uint8Array | undefined {
  // A function or a symbol is code, not data: a codec may turn it into nothing (msgpack's nil) rather than
  // refuse it, and the caller would find the field there with no value. Left out like what fails the codec.
  const description: RemoteError = { name: thrown.name, message: thrown.message };
  for (const [key, value] of Object.entries(thrown)) {
    if (typeof value !== 'function' && typeof value !== 'symbol') description[key] = value;
  }
  try {
    return codec.encode(description);
  } catch {
    // Some field's value does not pass the codec: keep the fields that do.
  }
  const kept: RemoteError = { name: description.name, message: description.message };
  for (const [key, value] of Object.entries(description)) {
    try {
      codec.encode({ [key]: value });
      kept[key] = value;
    } catch {
      // left out
    }
  }
  try {
    return codec.encode(kept);
  } catch {
    return undefined;
  }
}

/**
 * Caller side: gives `error.remote` the full-fidelity description from
 * `remoteData` (decoded with the service's codec). Keeps the JSON-safe one if
 * the bytes do not decode to a description.
 */
export function restoreRemote(error: PhoenixError, codec: Codec): void {
  const data = error.remoteData;
  if (!(data instanceof Uint8Array) || data.length === 0) return;
  try {
    const decoded = codec.decode(data) as Record<string, unknown> | null;
    if (
      typeof decoded === 'object' &&
      decoded !== null &&
      typeof decoded.name === 'string' &&
      typeof decoded.message === 'string'
    ) {
      error.remote = decoded as RemoteError;
    }
  } catch {
    // not ours to decode: the JSON-safe description stays
  }
}
