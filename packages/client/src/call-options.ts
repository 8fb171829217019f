import { Buffer } from 'node:buffer';
import { describeValue, isApplicationFuncId, PhoenixError, Priority } from '@phoenix-ipc/shm-layout';
import { SMALL_COPY_BYTES, writeSmallToSegment } from './copy-range.js';

export type QueueFullPolicy = 'wait' | 'reject';

/**
 * Per-call options; `call(id, payload, options)` or `call(id, payload, priority, timeoutMs)`.
 * An own key that is none of these four is refused with ERR_PHOENIX_INVALID_ARGUMENT.
 */
export interface CallOptions {
  /** Priority.Normal (default) or Priority.High (VIP group). */
  priority?: Priority;
  /** Fail with ERR_PHOENIX_TIMEOUT after this many ms; Infinity for none. */
  timeoutMs?: number;
  /** Aborting rejects the call with ERR_PHOENIX_ABORTED (and cancels it if no worker started it). */
  signal?: AbortSignal;
  /** What to do when the target worker's queue is full (default: the client's option, 'wait'). */
  onQueueFull?: QueueFullPolicy;
}

/** callSync takes no signal: nothing can fire while the thread is blocked. */
export type SyncCallOptions = Pick<CallOptions, 'priority' | 'timeoutMs' | 'onQueueFull'>;

export interface ResolvedCall {
  priority: Priority;
  /** 0 = no timeout. */
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onQueueFull: QueueFullPolicy;
}

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

export function checkFuncId(funcId: unknown): number {
  if (isApplicationFuncId(funcId)) return funcId;
  if (typeof funcId === 'number' && Number.isInteger(funcId) && funcId >= 1 && funcId <= 1000) {
    throw invalid(`func id ${funcId} is reserved for the framework (1..1000); applications use 1001..4294967295`);
  }
  throw invalid(`func id must be an integer from 1001 to 4294967295, got ${describeValue(funcId)}`);
}

export function checkQueueFullPolicy(value: unknown, name = 'onQueueFull'): QueueFullPolicy {
  if (value !== 'wait' && value !== 'reject') {
    throw invalid(`option ${name} must be 'wait' or 'reject', got ${describeValue(value)}`);
  }
  return value;
}

export function checkTimeout(value: unknown, name: string): number {
  if (value === Number.POSITIVE_INFINITY) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 2 ** 31 - 1) {
    throw invalid(`${name} must be a positive number of milliseconds (or Infinity), got ${describeValue(value)}`);
  }
  return value;
}

function checkPriority(value: unknown): Priority {
  if (value !== 0 && value !== 1) {
    throw invalid(`priority must be Priority.Normal (0) or Priority.High (1), got ${describeValue(value)}`);
  }
  return value;
}

/**
 * The resolved options of a call that gives no options beyond a priority
 * (the hot path): shared, frozen objects instead of one per call.
 */
export class DefaultCallOptions {
  readonly #byPriority: [ResolvedCall, ResolvedCall];
  /** The defaults resolveCallOptions fills in for calls that give options. */
  readonly base: { timeoutMs: number; onQueueFull: QueueFullPolicy };

  constructor(timeoutMs: number, onQueueFull: QueueFullPolicy) {
    this.base = { timeoutMs, onQueueFull };
    const make = (priority: Priority): ResolvedCall =>
      Object.freeze({ priority, timeoutMs, signal: undefined, onQueueFull });
    this.#byPriority = [make(Priority.Normal), make(Priority.High)];
  }

  /** The shared options for `priority` (0 or 1), or null for anything else. */
  forPriority(priority: unknown): ResolvedCall | null {
    if (priority === undefined) return this.#byPriority[0];
    if (priority === 0 || priority === 1) return this.#byPriority[priority];
    return null;
  }
}

/** The keys of CallOptions, for the message that names them. */
const CALL_OPTION_KEYS = 'priority, timeoutMs, signal, onQueueFull';

/**
 * A misspelt option (`timeout`, `priorty`) would otherwise leave its default
 * in place without a word: a call meant to time out would wait forever. A
 * for-in loop, not Object.keys: this runs for every call that gives options,
 * and the loop allocates nothing. Own keys only: an enumerable property some
 * library added to Object.prototype must not fail every call.
 */
function checkCallOptionKeys(options: object): void {
  for (const key in options) {
    if (
      key !== 'priority' &&
      key !== 'timeoutMs' &&
      key !== 'signal' &&
      key !== 'onQueueFull' &&
      Object.hasOwn(options, key)
    ) {
      throw invalid(
        `unknown call option ${key} (${describeValue((options as Record<string, unknown>)[key])}); the options are ${CALL_OPTION_KEYS}`,
      );
    }
  }
}

/**
 * Normalises the two call forms. `defaultTimeoutMs` 0 means "no timeout"
 * (callAsync); `call` passes the client's defaultTimeoutMs.
 */
export function resolveCallOptions(
  priorityOrOptions: Priority | CallOptions | undefined,
  timeoutMs: number | undefined,
  defaults: { timeoutMs: number; onQueueFull: QueueFullPolicy },
): ResolvedCall {
  if (priorityOrOptions !== undefined && priorityOrOptions !== null && typeof priorityOrOptions === 'object') {
    const options = priorityOrOptions as CallOptions;
    if (timeoutMs !== undefined) throw invalid('pass timeoutMs inside the options object, not as a fourth argument');
    checkCallOptionKeys(options);
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('signal must be an AbortSignal');
    return {
      priority: options.priority === undefined ? Priority.Normal : checkPriority(options.priority),
      timeoutMs: options.timeoutMs === undefined ? defaults.timeoutMs : checkTimeout(options.timeoutMs, 'timeoutMs'),
      signal,
      onQueueFull: options.onQueueFull === undefined ? defaults.onQueueFull : checkQueueFullPolicy(options.onQueueFull),
    };
  }
  return {
    priority: priorityOrOptions === undefined ? Priority.Normal : checkPriority(priorityOrOptions),
    timeoutMs: timeoutMs === undefined ? defaults.timeoutMs : checkTimeout(timeoutMs, 'timeoutMs'),
    signal: undefined,
    onQueueFull: defaults.onQueueFull,
  };
}

/**
 * A request payload as a caller may give it: bytes (a Uint8Array or Buffer),
 * a string (sent as UTF-8), or a list of byte chunks, sent as one payload
 * (gathered: each chunk is copied once, straight into the request ring, with
 * no concatenation first).
 */
export type Payload = Uint8Array | string | readonly Uint8Array[];

/** A payload as the engine writes it: one buffer, or chunks written back to back. */
export type RequestBytes = Uint8Array | readonly Uint8Array[];

/**
 * The payload of a call made without one, shared by all of them: a request's
 * payload is only read, never handed to application code. A fresh
 * `new Uint8Array(0)` is a fresh ArrayBuffer, ~0.27 µs on Node 20 against
 * ~0.05 µs for a 16-byte view of Node's pool.
 */
export const NO_PAYLOAD: Uint8Array = new Uint8Array(0);

/** A Uint8Array (Buffer included) as is, a string as UTF-8, a list of chunks as is (one chunk as itself). */
export function toPayload(payload: unknown): RequestBytes {
  if (payload instanceof Uint8Array) return payload;
  // UTF-8 into Node's Buffer pool: TextEncoder.encode makes a fresh ArrayBuffer for every string (~0.33 µs for 16
  // characters, ~1.4 µs for 200, against ~0.07 and ~0.16 µs).
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (payload === undefined || payload === null) return NO_PAYLOAD;
  if (Array.isArray(payload)) {
    for (let i = 0; i < payload.length; i++) {
      if (!(payload[i] instanceof Uint8Array))
        throw invalid(`payload chunk ${i} must be a Uint8Array or Buffer, got ${typeof payload[i]}`);
    }
    return payload.length === 1 ? (payload[0] as Uint8Array) : (payload as Uint8Array[]);
  }
  throw invalid(`payload must be a Uint8Array, Buffer, string or array of Uint8Array chunks, got ${typeof payload}`);
}

/** How many bytes a payload sends. */
export function payloadLength(payload: RequestBytes): number {
  if (payload instanceof Uint8Array) return payload.length;
  let length = 0;
  for (let i = 0; i < payload.length; i++) length += payload[i]!.length;
  return length;
}

/** The payload in one buffer (a transport that cannot gather: a copy only for chunks). */
export function contiguousPayload(payload: RequestBytes): Uint8Array {
  return payload instanceof Uint8Array ? payload : Buffer.concat(payload as Uint8Array[]);
}

/**
 * Writes the payload into `bytes` at `at`, chunk after chunk. `words`, a
 * view of the same memory (the segment's), lets a small payload go in a word
 * per store (writeSmallToSegment).
 */
export function writePayload(bytes: Uint8Array, at: number, payload: RequestBytes, words?: Int32Array): void {
  if (payload instanceof Uint8Array) {
    const length = payload.length;
    // Up to SMALL_COPY_BYTES by hand: set() is a builtin call that costs more at this size.
    if (length > SMALL_COPY_BYTES) bytes.set(payload, at);
    else if (words !== undefined && (at & 3) === 0) writeSmallToSegment(words, bytes, at, payload);
    else for (let i = 0; i < length; i++) bytes[at + i] = payload[i]!;
    return;
  }
  for (let i = 0; i < payload.length; i++) {
    const chunk = payload[i]!;
    // An empty chunk adds nothing, and a detached one (its buffer transferred) reads as empty: set() would
    // throw on it.
    if (chunk.length === 0) continue;
    bytes.set(chunk, at);
    at += chunk.length;
  }
}
