/**
 * A successful call's answer (a failed call rejects with a PhoenixError instead). `payload` is a copy the caller owns: a Buffer
 * (from Node's pool for small replies, like Buffer.allocUnsafe), or for
 * callInto a view of the caller's own target.
 */
export interface Reply {
  seqId: number;
  /** What the handler set in response.funcId (by default the request's func id). */
  funcId: number;
  payloadLen: number;
  payload: Uint8Array;
}
