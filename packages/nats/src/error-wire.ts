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
 */
import { PhoenixError } from '@phoenix-ipc/client';
import { isPhoenixErrorCode } from '@phoenix-ipc/shm-layout';

export interface ErrorDocument {
  code: string;
  message: string;
  fields: Record<string, unknown>;
  bytes: Record<string, string>;
}

/** Own properties that are not facts (or that must never be assigned from foreign JSON). */
const NOT_FIELDS = new Set(['code', 'message', 'name', 'stack', 'cause', '__proto__', 'constructor', 'prototype']);

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
    if (NOT_FIELDS.has(key)) continue;
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
  if (typeof document.fields === 'object' && document.fields !== null) {
    for (const [key, value] of Object.entries(document.fields)) if (!NOT_FIELDS.has(key)) facts[key] = value;
  }
  if (typeof document.bytes === 'object' && document.bytes !== null) {
    for (const [key, value] of Object.entries(document.bytes)) {
      if (!NOT_FIELDS.has(key) && typeof value === 'string') facts[key] = Buffer.from(value, 'base64');
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
