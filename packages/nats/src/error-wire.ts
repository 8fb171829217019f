/**
 * A PhoenixError across the wire: the body of a failure reply.
 *
 *   { "code": "ERR_PHOENIX_WORKER_CRASHED",
 *     "message": "worker normal#0 (pid 4242) died ...",
 *     "fields": { "group": "normal", "workerIndex": 0, "pid": 4242, "signal": "SIGKILL", ... },
 *     "bytes": { "remoteData": "<base64>" } }
 *
 * Every own enumerable field of the error travels, not a fixed list, so that
 * fields added later survive: JSON values in `fields`, Uint8Array values (for
 * instance codec-encoded data) base64-encoded in `bytes`, which come back as
 * Buffers. A field that is neither (a function, a bigint) is left out.
 *
 * A failure reply may come from any NATS client subscribed to the service's
 * subjects, so the reader trusts none of it: a field named like a member of
 * Error.prototype or Object.prototype (toString, valueOf, __proto__...) is
 * dropped, at any depth, and the facts PhoenixError declares keep their
 * declared types or are dropped.
 */
import { Buffer } from 'node:buffer';
import { PhoenixError } from '@phoenix-ipc/client';
import { ERROR_FACT_CHECKS, isPhoenixErrorCode } from '@phoenix-ipc/shm-layout';
import { ERROR_HEADER, VERSION_HEADER, WIRE_VERSION } from './wire.js';

export interface ErrorDocument {
  code: string;
  message: string;
  fields: Record<string, unknown>;
  bytes: Record<string, string>;
}

/** Own properties that are not facts (or that must never be assigned from foreign JSON). */
const NOT_FIELDS = new Set(['code', 'message', 'name', 'stack', 'cause', 'prototype', 'toJSON']);

/**
 * Whether `key` may name a fact: an own property named like a member of the
 * error's prototype chain (toString, valueOf, hasOwnProperty, __proto__,
 * __defineGetter__...) would shadow it: `{"toString": 5}` made String(error)
 * throw, and `__proto__` would set the prototype.
 */
function isFactKey(key: string): boolean {
  return !NOT_FIELDS.has(key) && !(key in PhoenixError.prototype);
}

const isSafeInteger = (value: unknown): boolean => Number.isSafeInteger(value);
const isString = (value: unknown): boolean => typeof value === 'string';

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The facts PhoenixError declares (PhoenixErrorDetails), each with the check
 * its value must pass: those of a failure reply in shared memory, plus seqId,
 * funcId, remoteName, remoteStack and remoteData, which travel here as facts.
 * Other fields are relayed as the JSON values they are.
 */
const TYPED_FACTS: Readonly<Record<string, (value: unknown) => boolean>> = {
  ...ERROR_FACT_CHECKS,
  seqId: isSafeInteger,
  funcId: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff,
  remoteName: isString,
  remoteStack: isString,
  remoteData: (value) => value instanceof Uint8Array,
};

/** Deeper JSON than this is dropped rather than walked (a fact nested that deep is no fact of ours). */
const MAX_FACT_DEPTH = 64;

/**
 * A copy of a parsed JSON value without the object keys that would shadow
 * an Object.prototype member (toString, __proto__...), at every depth;
 * undefined when it nests deeper than MAX_FACT_DEPTH.
 */
function plainJson(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_FACT_DEPTH) return undefined;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    for (const item of value) {
      const safe = plainJson(item, depth + 1);
      if (safe === undefined) return undefined;
      copy.push(safe);
    }
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key in Object.prototype) continue; // __proto__ among them: the assignment below only ever defines data
    const safe = plainJson(item, depth + 1);
    if (safe === undefined) return undefined;
    copy[key] = safe;
  }
  return copy;
}

/** Adds fact `key` to `facts` if its name and value are acceptable (see isFactKey, TYPED_FACTS). */
function addFact(facts: Record<string, unknown>, key: string, value: unknown): void {
  if (!isFactKey(key)) return;
  const safe = value instanceof Uint8Array ? value : plainJson(value);
  if (safe === undefined) return;
  const check = TYPED_FACTS[key];
  if (check !== undefined && !check(safe)) return;
  facts[key] = safe;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function jsonSafe(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false; // a bigint, or a cycle
  }
}

export function errorDocument(error: PhoenixError): ErrorDocument {
  const fields: Record<string, unknown> = {};
  const bytes: Record<string, string> = {};
  for (const key of Object.keys(error)) {
    if (!isFactKey(key)) continue; // a reader drops it anyway
    const value = (error as unknown as Record<string, unknown>)[key];
    if (value instanceof Uint8Array)
      bytes[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    else if (jsonSafe(value)) fields[key] = value;
  }
  return { code: error.code, message: error.message, fields, bytes };
}

/**
 * The body of a failure reply, at most `maxBytes` long: when the whole
 * document does not fit (a huge remote stack), the long strings are cut, and
 * at last only the code and message are sent.
 */
export function encodeError(error: PhoenixError, maxBytes: number): Uint8Array {
  const document = errorDocument(error);
  let encoded = encoder.encode(JSON.stringify(document));
  if (encoded.length <= maxBytes) return encoded;
  const shortened: ErrorDocument = { ...document, fields: {}, bytes: {} };
  for (const [key, value] of Object.entries(document.fields)) {
    shortened.fields[key] = typeof value === 'string' && value.length > 1024 ? `${value.slice(0, 1024)}…` : value;
  }
  encoded = encoder.encode(JSON.stringify(shortened));
  if (encoded.length <= maxBytes) return encoded;
  // Code and message only. A character can take up to 6 bytes once JSON-escaped, so cut the message until the
  // document fits: at MIN_ERROR_BODY_BYTES or more, the code with an empty message always does.
  let room = Math.max(0, maxBytes - 128);
  for (;;) {
    const message = truncateUtf8(document.message, room);
    encoded = encoder.encode(JSON.stringify({ code: document.code, message, fields: {} }));
    if (encoded.length <= maxBytes || room === 0) return encoded;
    // Shrink in proportion: the bytes over are escaped bytes, several per byte of the message.
    room = Math.max(0, Math.floor((room * maxBytes) / encoded.length) - 8);
  }
}

/** The smallest body room a failure reply is given: a document with the code and an empty message fits. */
export const MIN_ERROR_BODY_BYTES = 256;

/**
 * `text` cut to at most `maxBytes` bytes of UTF-8, at a character boundary
 * (never half a surrogate pair), with '…' when it was cut.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const ellipsis = 3; // '…' in UTF-8
  if (maxBytes < ellipsis) return '';
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    const point = text.codePointAt(end)!;
    const width = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
    if (bytes + width > maxBytes - ellipsis) break;
    bytes += width;
    end += point >= 0x10000 ? 2 : 1;
  }
  return `${text.slice(0, end)}…`;
}

/**
 * The PhoenixError a failure reply describes. Never trusts the bytes: a body
 * that is not a valid document becomes ERR_PHOENIX_HANDLER_FAILED saying so.
 */
export function decodeError(body: Uint8Array, headerCode: string, context: { funcId: number }): PhoenixError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(body));
  } catch {
    parsed = null;
  }
  if (typeof parsed !== 'object' || parsed === null) {
    const code = isPhoenixErrorCode(headerCode) ? headerCode : 'ERR_PHOENIX_HANDLER_FAILED';
    return new PhoenixError(
      code,
      `the bridge sent a ${headerCode} failure reply whose body is not a valid error document`,
      context,
    );
  }
  const document = parsed as Partial<Record<keyof ErrorDocument, unknown>>;
  const facts: Record<string, unknown> = {};
  if (isPlainRecord(document.fields)) {
    for (const [key, value] of Object.entries(document.fields)) addFact(facts, key, value);
  }
  if (isPlainRecord(document.bytes)) {
    for (const [key, value] of Object.entries(document.bytes)) {
      if (typeof value === 'string') addFact(facts, key, Buffer.from(value, 'base64'));
    }
  }
  const claimed = typeof document.code === 'string' ? document.code : headerCode;
  const message = typeof document.message === 'string' ? document.message : 'the remote call failed';
  if (!isPhoenixErrorCode(claimed)) {
    // A code this version does not know (a newer bridge): keep it as a fact.
    return new PhoenixError('ERR_PHOENIX_HANDLER_FAILED', message, {
      ...context,
      ...facts,
      remoteCode: claimed,
    } as never);
  }
  if (facts.funcId === undefined) facts.funcId = context.funcId;
  return new PhoenixError(claimed, message, facts as never);
}

/** Maps an error code to a NATS micro service error code (Nats-Service-Error-Code), HTTP-like. */
function serviceErrorCode(code: PhoenixError['code']): number {
  switch (code) {
    case 'ERR_PHOENIX_INVALID_ARGUMENT':
      return 400;
    case 'ERR_PHOENIX_NO_HANDLER':
      return 404;
    case 'ERR_PHOENIX_TIMEOUT':
      return 504;
    case 'ERR_PHOENIX_PAYLOAD_TOO_LARGE':
      return 413;
    case 'ERR_PHOENIX_QUEUE_FULL':
    case 'ERR_PHOENIX_UNAVAILABLE':
    case 'ERR_PHOENIX_SERVER_GONE':
    case 'ERR_PHOENIX_BUSY':
      return 503;
    default:
      return 500;
  }
}

/** The longest Nats-Service-Error header value, in UTF-8 bytes. */
const SERVICE_ERROR_BYTES = 1024;

/** The headers of a failure reply: ours, and the NATS micro service convention's, so that generic NATS tools see an error too. */
export function failureHeaders(error: PhoenixError): [string, string][] {
  return [
    [VERSION_HEADER, WIRE_VERSION],
    [ERROR_HEADER, error.code],
    // Cut in bytes, not characters: max_payload counts the header block's UTF-8 bytes as well as the body's.
    ['Nats-Service-Error', truncateUtf8(error.message.replace(/[\r\n]+/g, ' '), SERVICE_ERROR_BYTES)],
    ['Nats-Service-Error-Code', String(serviceErrorCode(error.code))],
  ];
}
