/**
 * The caller's side of the wire format (wire.ts): the headers of a request,
 * and what a message on the caller's inbox means (a reply, a PhoenixError, or
 * NATS saying that nobody serves the subject).
 */

import { Buffer } from 'node:buffer';
import { errors, headers, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import { MsgStatus, PhoenixError, type Reply } from '@phoenix-ipc/client';
import { decodeError } from './error-wire.js';
import {
  DEADLINE_HEADER,
  ERROR_HEADER,
  FUNC_ID_HEADER,
  headerBlockBytes,
  PRIORITY_HEADER,
  parseFuncIdToken,
  VERSION_HEADER,
  WIRE_VERSION,
} from './wire.js';

/** A successful remote call's answer; `payload` is a Buffer the caller owns, as from IpcClient. */
export interface NatsReply extends Reply {
  payload: Buffer;
}

/** The bytes a request's headers take at most (a deadline has at most 16 digits). */
export const REQUEST_HEADER_BYTES = headerBlockBytes([
  [VERSION_HEADER, WIRE_VERSION],
  [PRIORITY_HEADER, '0'],
  [DEADLINE_HEADER, '0'.repeat(16)],
]);

/** The headers of a request: `timeoutMs` 0 means no deadline. */
export function requestHeaders(priority: number, timeoutMs: number): MsgHdrs {
  const hdrs = headers();
  hdrs.set(VERSION_HEADER, WIRE_VERSION);
  hdrs.set(PRIORITY_HEADER, priority === 1 ? '1' : '0');
  // Whole milliseconds on the wire: a fractional timeout (one computed from performance.now(), say) rounds up.
  hdrs.set(DEADLINE_HEADER, timeoutMs === 0 ? '0' : String(Math.ceil(Date.now() + timeoutMs)));
  return hdrs;
}

/** Whether `msg` is NATS saying that nobody subscribes to the request's subject: nobody received the request. */
export function isNoResponders(msg: Msg): boolean {
  return msg.headers?.code === 503;
}

/** What the answer to call `seqId` of `funcId` (sent to `subject`) says: the reply, or why the call failed. */
export function readReply(msg: Msg, subject: string, seqId: number, funcId: number): NatsReply | PhoenixError {
  const hdrs = msg.headers;
  if (hdrs !== undefined) {
    if (isNoResponders(msg)) {
      return new PhoenixError(
        'ERR_PHOENIX_UNAVAILABLE',
        `no responders: nobody serves ${subject} (is a bridge of the service running?)`,
        { seqId, funcId },
      );
    }
    const code = hdrs.get(ERROR_HEADER);
    if (code !== '') return decodeError(msg.data, code, { funcId });
    if (hdrs.hasError) {
      return new PhoenixError(
        'ERR_PHOENIX_HANDLER_FAILED',
        `the NATS server answered status ${hdrs.code} ${hdrs.description}`.trim(),
        { seqId, funcId },
      );
    }
  }
  let replyFuncId = funcId;
  if (hdrs?.has(FUNC_ID_HEADER)) {
    const values = hdrs.values(FUNC_ID_HEADER);
    const parsed = values.length === 1 ? parseReplyFuncId(values[0]!) : null;
    if (parsed === null) {
      // Anyone subscribed to the service's subjects can answer: a reply we cannot read is a failed call, not a
      // reply with a made-up func id (NaN, -5). The call did reach someone, so it may have run.
      return new PhoenixError(
        'ERR_PHOENIX_HANDLER_FAILED',
        `the reply to call ${seqId} (func ${funcId}) is garbled: header ${FUNC_ID_HEADER} must be one func id in decimal (0 to 4294967295), got ${JSON.stringify(values.join(', ').slice(0, 64))}; the call may have run`,
        { seqId, funcId },
      );
    }
    replyFuncId = parsed;
  }
  const payload = Buffer.from(msg.data); // a copy: msg.data is a view of the socket's read buffer
  return { seqId, funcId: replyFuncId, status: MsgStatus.Completed, payloadLen: payload.length, payload };
}

/**
 * The func id a reply's Phoenix-Func-Id header spells: decimal, no sign, no
 * leading zero, 0 to 2^32-1 (any u32 a handler may set as response.funcId,
 * which the server accepts), else null.
 */
function parseReplyFuncId(token: string): number | null {
  if (token === '0') return 0;
  return parseFuncIdToken(token);
}

/** Why a publish threw: above max_payload (not sent), or a connection that cannot send. */
export function publishFailure(error: unknown, funcId: number): PhoenixError {
  if (error instanceof errors.InvalidArgumentError && /max_payload/.test(error.message)) {
    return new PhoenixError(
      'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
      "the request exceeds the NATS server's max_payload; not sent",
      {
        funcId,
        cause: error,
      },
    );
  }
  return new PhoenixError(
    'ERR_PHOENIX_SERVER_GONE',
    `the NATS connection cannot send: ${error instanceof Error ? error.message : String(error)}`,
    { funcId, cause: error },
  );
}
