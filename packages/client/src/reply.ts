/**
 * A successful call's answer (a failed call rejects with a PhoenixError instead).
 *
 * call/callAsync/callSync: a new object each time, and `payload` is a copy
 * the caller owns for as long as it likes: a Buffer (from Node's pool for
 * small replies, like Buffer.allocUnsafe; a fresh allocation above 4 KiB).
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
  payloadLen: number;
  payload: Uint8Array;
}
