import type { MsgStatus } from '@phoenix-ipc/shm-layout';

/** A successful call's answer. `payload` is a copy the caller owns. */
export interface Reply {
  seqId: number;
  /** What the handler set in response.funcId (by default the request's func id). */
  funcId: number;
  /** Always MsgStatus.Completed: failures reject with a PhoenixError. */
  status: MsgStatus;
  payloadLen: number;
  payload: Uint8Array;
}
