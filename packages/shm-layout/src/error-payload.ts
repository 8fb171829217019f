import {
  isPhoenixErrorCode,
  PhoenixError,
  type PhoenixErrorCode,
  type RemoteError,
  type ValidationIssue,
} from '@phoenix-ipc/ringbuffer';
import { describeThrown, toJsonSafe } from './thrown-values.js';

/**
 * Failure replies: how a worker tells its caller why a request failed.
 *
 * Format (the reply's payload, status Failed):
 *
 *   UTF-8 JSON document                                   always
 *   0x00, then the byte fields, one after the other       only if the document has "bytes"
 *
 * The document is `{ code, message, name?, stack?, details?, bytes? }`:
 * `details` holds the JSON-safe facts of the PhoenixError (see ERROR_FACT_CHECKS below),
 * and in `details.fields` its other own enumerable fields made JSON-safe (a
 * handler's `retryAfterMs`, say: a PhoenixError keeps its code and fields),
 * `bytes` maps each byte field (Uint8Array facts such as `remoteData`) to its
 * length, in the order they follow the 0x00. JSON text never contains a raw
 * 0x00 byte, so the first one ends the document.
 *
 * Workers write it with encodeErrorPayload; callers read it with
 * decodeErrorPayload, which never trusts the bytes (they come from shared
 * memory): it keeps only the facts it knows, with the right types, and only
 * codes of the catalogue.
 */
export interface ErrorPayload {
  code: PhoenixErrorCode;
  message: string;
  name?: string;
  stack?: string;
  /** PhoenixError facts that travel with the error (JSON-safe values, or Uint8Array for byte fields). */
  details?: TransportedDetails;
}

/** The facts of a PhoenixError that travel in a failure reply (the caller sets seqId and funcId itself). */
export interface TransportedDetails {
  group?: 'normal' | 'vip';
  workerIndex?: number;
  pid?: number | null;
  signal?: string | null;
  exitCode?: number | null;
  reason?: 'exit' | 'hang' | 'corrupt';
  attempt?: number;
  errno?: number;
  syscall?: string;
  path?: string;
  bytesNeeded?: number;
  bytesAvailable?: number;
  remote?: RemoteError;
  remoteData?: Uint8Array;
  issues?: ValidationIssue[];
  /** The error's other own enumerable fields, as JSON values (see extraFieldKey). */
  fields?: Record<string, unknown>;
}

const isInteger = (value: unknown): boolean => Number.isSafeInteger(value);
export const isString = (value: unknown): value is string => typeof value === 'string';
const orNull =
  (check: (value: unknown) => boolean) =>
  (value: unknown): boolean =>
    value === null || check(value);

/** A JSON object: not null, not an array. Shared with the control messages' readers. */
export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRemoteError(value: unknown): boolean {
  return isPlainRecord(value) && typeof value.name === 'string' && typeof value.message === 'string';
}

function isIssueList(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (issue) =>
        isPlainRecord(issue) &&
        typeof issue.message === 'string' &&
        (issue.path === undefined ||
          (Array.isArray(issue.path) &&
            issue.path.every((key) => typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key))))),
    )
  );
}

/**
 * The JSON facts a failure reply may carry, each with the check its value
 * must pass: a decoder of failures from elsewhere (the NATS bridge's wire)
 * keeps a fact only if it passes.
 */
export const ERROR_FACT_CHECKS: Readonly<Record<string, (value: unknown) => boolean>> = {
  group: (value) => value === 'normal' || value === 'vip',
  workerIndex: isInteger,
  pid: orNull(isInteger),
  signal: orNull(isString),
  exitCode: orNull(isInteger),
  reason: (value) => value === 'exit' || value === 'hang' || value === 'corrupt',
  attempt: isInteger,
  errno: isInteger,
  syscall: isString,
  path: isString,
  bytesNeeded: isInteger,
  bytesAvailable: isInteger,
  remote: isRemoteError,
  issues: isIssueList,
};

/** The byte facts (Uint8Array values), carried after the document. */
const BYTE_FACTS: readonly string[] = ['remoteData'];

/** Own properties of a PhoenixError that are no field of its own: set by the caller, or not data. */
const NOT_EXTRA_FIELDS = new Set([
  'code',
  'message',
  'name',
  'stack',
  'cause',
  'seqId',
  'funcId',
  'remoteName',
  'remoteStack',
  'fields',
  ...Object.keys(ERROR_FACT_CHECKS),
  ...BYTE_FACTS,
]);

/**
 * Whether `key` may name one of an error's other fields: not a fact with a
 * check of its own, and not a member of its prototype chain (`toString`,
 * `constructor`, `__proto__`...), which an own property would shadow.
 */
function isExtraFieldKey(key: string): boolean {
  return !NOT_EXTRA_FIELDS.has(key) && !(key in PhoenixError.prototype);
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A RemoteError whose field values are all JSON values (fields that cannot be are left out). */
function jsonSafeRemote(remote: RemoteError): RemoteError {
  const safe = toJsonSafe(remote);
  if (isRemoteError(safe)) return safe as RemoteError;
  return { name: String(remote.name), message: String(remote.message) };
}

/**
 * The failure document for anything a handler threw. A PhoenixError keeps
 * its code and its transportable facts (a handler that calls another service
 * passes on ERR_PHOENIX_TIMEOUT, not ERR_PHOENIX_HANDLER_FAILED); for a
 * relayed error its remote name and stack are kept. Anything else is
 * ERR_PHOENIX_HANDLER_FAILED with the thrown error's message, name and stack,
 * and `remote`: its description made JSON-safe.
 */
export function errorPayloadFrom(thrown: unknown): ErrorPayload {
  try {
    return payloadOf(thrown);
  } catch {
    // Reading the thrown value threw (a hostile proxy): the failure is still the handler's, not the channel's.
    return {
      code: 'ERR_PHOENIX_HANDLER_FAILED',
      message: `the handler threw ${typeof thrown === 'object' ? 'an object' : `a ${typeof thrown}`} that could not be read`,
      name: 'Error',
    };
  }
}

function payloadOf(thrown: unknown): ErrorPayload {
  if (PhoenixError.isInstance(thrown)) {
    const details: Record<string, unknown> = {};
    const facts = thrown as unknown as Record<string, unknown>;
    for (const key of Object.keys(ERROR_FACT_CHECKS)) {
      const value = facts[key];
      if (value === undefined) continue;
      if (key === 'remote' && isPlainRecord(value)) details.remote = jsonSafeRemote(value as RemoteError);
      else if (ERROR_FACT_CHECKS[key]!(value)) details[key] = value;
    }
    for (const key of BYTE_FACTS) if (facts[key] instanceof Uint8Array) details[key] = facts[key];
    const fields = extraFields(facts);
    if (fields !== null) details.fields = fields;
    return {
      code: thrown.code,
      message: thrown.message,
      name: thrown.remoteName ?? thrown.name,
      stack: thrown.remoteStack ?? thrown.stack,
      details: details as TransportedDetails,
    };
  }
  const remote = describeThrown(thrown);
  const stack = thrown instanceof Error ? thrown.stack : undefined;
  const payload: ErrorPayload = { code: 'ERR_PHOENIX_HANDLER_FAILED', message: remote.message, name: remote.name };
  if (stack !== undefined) payload.stack = stack;
  payload.details = { remote: jsonSafeRemote(remote) };
  return payload;
}

/** A PhoenixError's other own enumerable fields, each made JSON-safe (left out when it cannot be); null if none. */
function extraFields(error: Record<string, unknown>): Record<string, unknown> | null {
  let fields: Record<string, unknown> | null = null;
  for (const key of Object.keys(error)) {
    if (!isExtraFieldKey(key)) continue;
    const value = toJsonSafe(error[key]);
    if (value === undefined) continue;
    fields ??= {};
    fields[key] = value;
  }
  return fields;
}

/** The document without its byte fields, and the byte fields to append. */
function split(error: ErrorPayload): { document: Record<string, unknown>; bytes: Uint8Array[] } {
  const { details, ...head } = error;
  const document: Record<string, unknown> = { ...head };
  const bytes: Uint8Array[] = [];
  if (details !== undefined) {
    const json: Record<string, unknown> = {};
    const lengths: Record<string, number> = {};
    for (const [key, value] of Object.entries(details)) {
      if (value === undefined) continue;
      if (BYTE_FACTS.includes(key)) {
        if (value instanceof Uint8Array) {
          lengths[key] = value.length;
          bytes.push(value);
        }
      } else json[key] = key === 'remote' ? jsonSafeRemote(value as RemoteError) : value;
    }
    if (Object.keys(json).length > 0) document.details = json;
    if (bytes.length > 0) document.bytes = lengths;
  }
  return { document, bytes };
}

// Writes document + byte fields into target; -1 if they do not fit.
function write(target: Uint8Array, document: Record<string, unknown>, bytes: Uint8Array[]): number {
  const text = encoder.encode(JSON.stringify(document));
  const byteTotal = bytes.reduce((sum, field) => sum + field.length, 0);
  const total = text.length + (bytes.length > 0 ? 1 + byteTotal : 0);
  if (total > target.length) return -1;
  target.set(text);
  if (bytes.length === 0) return text.length;
  let at = text.length;
  target[at++] = 0;
  for (const field of bytes) {
    target.set(field, at);
    at += field.length;
  }
  return at;
}

/**
 * Encodes into `target`; returns the byte length. What does not fit is given
 * up in this order: the stack, the byte fields, the remote description and
 * the issues, then message length. The code always survives.
 */
export function encodeErrorPayload(target: Uint8Array, error: ErrorPayload): number {
  const { document, bytes } = split(error);
  const lighter: (() => void)[] = [
    () => delete document.stack,
    () => {
      bytes.length = 0;
      delete document.bytes;
    },
    () => {
      const details = document.details as Record<string, unknown> | undefined;
      if (details === undefined) return;
      delete details.remote;
      delete details.issues;
      delete details.fields;
    },
  ];
  let length = write(target, document, bytes);
  for (let step = 0; length < 0 && step < lighter.length; step++) {
    lighter[step]!();
    length = write(target, document, bytes);
  }
  if (length >= 0) return length;
  for (let attempt = 0; attempt < 4; attempt++) {
    const room = Math.max(16, Math.floor(target.length / (attempt + 2)) - 64);
    length = write(target, { code: error.code, message: error.message.slice(0, room), name: error.name }, []);
    if (length >= 0) return length;
  }
  const fallback = encoder.encode(JSON.stringify({ code: error.code, message: '' }));
  const fitted = Math.min(fallback.length, target.length);
  target.set(fallback.subarray(0, fitted));
  return fitted;
}

// The facts of a parsed document that are known and well typed; byte fields copied out of `bytes`.
function readFacts(document: Record<string, unknown>, bytes: Uint8Array | null): Record<string, unknown> {
  const facts: Record<string, unknown> = {};
  const details = document.details;
  if (isPlainRecord(details)) {
    for (const [key, check] of Object.entries(ERROR_FACT_CHECKS)) {
      if (Object.hasOwn(details, key) && check(details[key])) facts[key] = details[key];
    }
    // JSON values as parsed (an own "__proto__" key in them is data, never a prototype); the names are checked.
    const fields = details.fields;
    if (isPlainRecord(fields)) {
      for (const [key, value] of Object.entries(fields)) if (isExtraFieldKey(key)) facts[key] = value;
    }
  }
  const lengths = document.bytes;
  if (bytes !== null && isPlainRecord(lengths)) {
    let at = 0;
    for (const [key, length] of Object.entries(lengths)) {
      if (!Number.isSafeInteger(length) || (length as number) < 0 || at + (length as number) > bytes.length) break;
      // A copy: the reply's memory is reused once the caller has read it.
      if (BYTE_FACTS.includes(key)) facts[key] = bytes.slice(at, at + (length as number));
      at += length as number;
    }
  }
  return facts;
}

export function decodeErrorPayload(bytes: Uint8Array, details: { seqId: number; funcId: number }): PhoenixError {
  const end = bytes.indexOf(0);
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(end < 0 ? bytes : bytes.subarray(0, end)));
  } catch {
    return new PhoenixError(
      'ERR_PHOENIX_HANDLER_FAILED',
      'the worker sent a failure reply that is not valid JSON',
      details,
    );
  }
  const document = isPlainRecord(parsed) ? parsed : {};
  const code = isPhoenixErrorCode(document.code) ? document.code : 'ERR_PHOENIX_HANDLER_FAILED';
  const message = typeof document.message === 'string' ? document.message : 'the handler failed';
  return new PhoenixError(code, message, {
    ...readFacts(document, end < 0 ? null : bytes.subarray(end + 1)),
    ...details,
    remoteName: typeof document.name === 'string' ? document.name : undefined,
    remoteStack: typeof document.stack === 'string' ? document.stack : undefined,
  });
}
