import type { MsgStatus } from '@phoenix-ipc/shm-layout';

/**
 * A successful call's answer. `payload` is a copy the caller owns: a Buffer
 * (from Node's pool for small replies, like Buffer.allocUnsafe), or for
 * callInto a view of the caller's own target.
 */
export interface Reply {
  seqId: number;
  /** What the handler set in response.funcId (by default the request's func id). */
  funcId: number;
  /** Always MsgStatus.Completed: failures reject with a PhoenixError. */
  status: MsgStatus;
  payloadLen: number;
  payload: Uint8Array;
}
