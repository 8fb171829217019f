import type { MsgStatus, PhoenixError } from '@phoenix-ipc/shm-layout';

/**
 * A successful call's answer (a failed call rejects with a PhoenixError instead).
 *
 * call/callAsync/callSync: a new object each time, and `payload` is a copy
 * the caller owns for as long as it likes: a Buffer (from Node's pool for
 * small replies, like Buffer.allocUnsafe; a fresh allocation above 4 KiB,
 * which V8 frees only by collecting, see reply-memory-gc.ts: prefer callInto
 * for big replies, see docs/tuning.md "Big replies and a big heap").
 *
 * callInto: `payload` is a view of the caller's own target, and the Reply
 * object belongs to that target: every callInto into the same buffer
 * resolves with the same object, rewritten (like the bytes) by the next
 * reply copied into that buffer. Read it before the next callInto into that
 * buffer, or copy what you keep — the bytes would be overwritten anyway.
 */
export interface Reply {
  seqId: number;
  /** What the handler set in response.funcId (by default the request's func id). */
  funcId: number;
  /** Always MsgStatus.Completed: a resolved call is a success, a failed one rejects with a PhoenixError. */
  status: typeof MsgStatus.Completed;
  payloadLen: number;
  payload: Uint8Array;
}

/**
 * callDecoded (internal): makes a call's value straight from its reply
 * payload, memory[start, end) in shared memory, which is reused once it
 * returns (copy whatever the value keeps of it). A throw fails the call with
 * that error (a PhoenixError, or ERR_PHOENIX_HANDLER_FAILED around it).
 */
export type ReplyDecoder = (memory: Uint8Array, start: number, end: number) => unknown;

/** callDecoded (internal): what a failed call rejects with, made from its PhoenixError. */
export type ErrorMapper = (error: PhoenixError) => unknown;

/** What a call rejects with: `error`, or what callDecoded's mapper makes of it (what it throws, if it throws). */
export function rejectionOf(mapError: ErrorMapper | null, error: PhoenixError): unknown {
  if (mapError === null) return error;
  try {
    return mapError(error);
  } catch (thrown) {
    return thrown;
  }
}
