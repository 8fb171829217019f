/**
 * The message protocol: what travels in a ring record.
 *
 * MsgHeader is the design's 16-byte wire header (docs/design-mapping.md), little-endian:
 *
 *   0       8      12       16
 *   +-------+-------+--------+
 *   | seqId | funcId|payload |
 *   |  u64  |  u32  |len u32 |
 *   +-------+-------+--------+
 *
 * A request record is a RequestFrame: an 8-byte control prefix (the request's
 * state word, which caller, worker and supervisor change only with
 * compare-and-swap, and the attempt number), the MsgHeader, the absolute
 * deadline, then the payload. A reply record is a ResponseFrame: the MsgHeader,
 * the error flag and timings, then the payload (for failures, a UTF-8 JSON
 * error). Word 16 of a ResponseFrame is reserved (written 0, read by
 * nobody), so the error flag and timings keep their offsets.
 *
 *   RequestFrame                          ResponseFrame
 *   0  STATE        i32 (RequestState)    0  MsgHeader (16 bytes)
 *   4  ATTEMPT      i32 (1 = first run)   16 (reserved)    i32 (written 0)
 *   8  MsgHeader    (16 bytes)            20 ERROR_FLAG    i32 (1 = payload is an error)
 *   24 DEADLINE     f64 (CLOCK_MONOTONIC  24 QUEUE_WAIT_US i32 (time queued before the handler)
 *                   ms; 0 = none)         28 HANDLER_US    i32 (handler run time)
 *   32 SENT_AT      f64 (CLOCK_MONOTONIC  32 payload
 *                   ms; for queue wait)
 *   40 payload
 */

/** Seq ids start at 1; 0 never names a message. */
export const kInvalidSeqId = 0;

export const MSG_HEADER_BYTES = 16;
export const MSG_SEQ_ID_OFFSET = 0;
export const MSG_FUNC_ID_OFFSET = 8;
export const MSG_PAYLOAD_LEN_OFFSET = 12;

export const REQUEST_STATE_OFFSET = 0;
export const REQUEST_ATTEMPT_OFFSET = 4;
export const REQUEST_HEADER_OFFSET = 8;
export const REQUEST_DEADLINE_OFFSET = 24;
export const REQUEST_SENT_AT_OFFSET = 32;
export const REQUEST_FRAME_BYTES = 40;

export const RESPONSE_HEADER_OFFSET = 0;
/** Reserved (written 0); keeps ERROR_FLAG and the timings where they are. */
export const RESPONSE_RESERVED_OFFSET = 16;
export const RESPONSE_ERROR_FLAG_OFFSET = 20;
export const RESPONSE_QUEUE_WAIT_OFFSET = 24;
export const RESPONSE_HANDLER_TIME_OFFSET = 28;
export const RESPONSE_FRAME_BYTES = 32;

/** Room always kept for an error reply, whatever maxPayloadBytes is. */
export const MIN_ERROR_PAYLOAD_BYTES = 1024;

/** Func ids 1..1000 are reserved for the framework; applications use 1001..2^32-1. */
export const MIN_APPLICATION_FUNC_ID = 1001;
export const MAX_FUNC_ID = 0xffffffff;

/**
 * Lifecycle of a request record. Only these transitions happen, each by one
 * compare-and-swap, so exactly one party wins a record:
 *   PENDING -> TAKEN      the worker starts it (its monitor already names it)
 *   PENDING -> CANCELLED  the caller gave up (timeout, abort) before it started
 *   PENDING -> MOVED      the caller re-sent it to a sibling of a dead worker
 *   TAKEN   -> DONE       the worker published its reply
 *   TAKEN   -> FAILED     the supervisor answered it after the worker died
 *   TAKEN   -> PENDING    the supervisor re-queued it for a retry
 */
export const RequestState = {
  Pending: 0,
  Taken: 1,
  Cancelled: 2,
  Moved: 3,
  Done: 4,
  Failed: 5,
} as const;
export type RequestState = (typeof RequestState)[keyof typeof RequestState];

/** Call priority: Low/Normal go to the normal group, High/Vip to the VIP group. */
export const Priority = {
  Low: 0,
  Normal: 0,
  High: 1,
  Vip: 1,
} as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

/**
 * A message's status, in the design's words (docs/design-mapping.md).
 * Pending and Processing name a request's life before it ends (in shared
 * memory that life is its RequestState word, which callers and workers swap);
 * a reply record says how it ended with its ERROR_FLAG, and a caller sees
 * Completed as a resolved call (`Reply.status`) and Failed as a PhoenixError.
 */
export const MsgStatus = {
  Pending: 0,
  Processing: 1,
  Completed: 2,
  Failed: 3,
} as const;
export type MsgStatus = (typeof MsgStatus)[keyof typeof MsgStatus];

const TWO_POW_32 = 2 ** 32;

/** The 16-byte message header. `seqId` is a safe integer (u64 on the wire, < 2^53 in practice). */
export class MsgHeader {
  static readonly BYTES = MSG_HEADER_BYTES;
  seqId: number;
  funcId: number;
  payloadLen: number;

  constructor(seqId = kInvalidSeqId, funcId = 0, payloadLen = 0) {
    this.seqId = seqId;
    this.funcId = funcId;
    this.payloadLen = payloadLen;
  }

  isValid(): boolean {
    return this.seqId !== kInvalidSeqId && Number.isSafeInteger(this.seqId) && this.seqId > 0;
  }

  /** Writes the header little-endian at `offset` of `target`. */
  writeTo(target: Uint8Array, offset = 0): void {
    const view = new DataView(target.buffer, target.byteOffset + offset, MSG_HEADER_BYTES);
    view.setUint32(MSG_SEQ_ID_OFFSET, this.seqId >>> 0, true);
    view.setUint32(MSG_SEQ_ID_OFFSET + 4, Math.floor(this.seqId / TWO_POW_32), true);
    view.setUint32(MSG_FUNC_ID_OFFSET, this.funcId >>> 0, true);
    view.setUint32(MSG_PAYLOAD_LEN_OFFSET, this.payloadLen >>> 0, true);
  }

  /**
   * Reads a header written by writeTo (or by any little-endian peer). A seq
   * id at or beyond 2^53 (garbage: no writer gets there) reads as
   * kInvalidSeqId, so `seqId` is always a safe integer and isValid() is false.
   */
  static readFrom(source: Uint8Array, offset = 0): MsgHeader {
    const view = new DataView(source.buffer, source.byteOffset + offset, MSG_HEADER_BYTES);
    const seqId = view.getUint32(MSG_SEQ_ID_OFFSET + 4, true) * TWO_POW_32 + view.getUint32(MSG_SEQ_ID_OFFSET, true);
    return new MsgHeader(
      Number.isSafeInteger(seqId) ? seqId : kInvalidSeqId,
      view.getUint32(MSG_FUNC_ID_OFFSET, true),
      view.getUint32(MSG_PAYLOAD_LEN_OFFSET, true),
    );
  }

  encode(): Uint8Array {
    const bytes = new Uint8Array(MSG_HEADER_BYTES);
    this.writeTo(bytes);
    return bytes;
  }
}

/** Whether `funcId` is one an application may register and call. */
export function isApplicationFuncId(funcId: unknown): funcId is number {
  return (
    typeof funcId === 'number' && Number.isInteger(funcId) && funcId >= MIN_APPLICATION_FUNC_ID && funcId <= MAX_FUNC_ID
  );
}

/** Host byte order must be little-endian: the wire format is, and typed arrays use host order. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
