import { isPhoenixErrorCode, PhoenixError, type PhoenixErrorCode } from '@phoenix-ipc/shm-layout';

/**
 * Failure replies carry a small UTF-8 JSON document. Workers write it with
 * encodeErrorPayload; callers read it with decodeErrorPayload, which never
 * trusts the bytes (they come from shared memory).
 */
export interface ErrorPayload {
  code: PhoenixErrorCode;
  message: string;
  name?: string;
  stack?: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Encodes into `target`, shortening message and stack to fit; returns the byte length. */
export function encodeErrorPayload(target: Uint8Array, error: ErrorPayload): number {
  let document: ErrorPayload = error;
  for (let attempt = 0; attempt < 4; attempt++) {
    const encoded = encoder.encode(JSON.stringify(document));
    if (encoded.length <= target.length) {
      target.set(encoded);
      return encoded.length;
    }
    const room = Math.max(16, Math.floor(target.length / (attempt + 2)) - 64);
    document = { code: error.code, message: error.message.slice(0, room), name: error.name };
  }
  const fallback = encoder.encode(JSON.stringify({ code: error.code, message: '' }));
  const length = Math.min(fallback.length, target.length);
  target.set(fallback.subarray(0, length));
  return length;
}

export function decodeErrorPayload(bytes: Uint8Array, details: { seqId: number; funcId: number }): PhoenixError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch {
    return new PhoenixError(
      'ERR_PHOENIX_HANDLER_FAILED',
      'the worker sent a failure reply that is not valid JSON',
      details,
    );
  }
  const document = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const code = isPhoenixErrorCode(document.code) ? document.code : 'ERR_PHOENIX_HANDLER_FAILED';
  const message = typeof document.message === 'string' ? document.message : 'the handler failed';
  return new PhoenixError(code, message, {
    ...details,
    remoteName: typeof document.name === 'string' ? document.name : undefined,
    remoteStack: typeof document.stack === 'string' ? document.stack : undefined,
  });
}
