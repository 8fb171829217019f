// What a handler is given (the lane's header, response and raw request
// objects) and what it gives back (a value, a promise, a thenable), handled
// as what they are: the handler's, so anything may have been done to them.
// A surprise here must fail the call with ERR_PHOENIX_HANDLER_FAILED, never
// escape into the worker's loop, which would take it for corrupt memory.
import { describeValue, errorPayloadFrom, MsgHeader, type PhoenixErrorCode } from '@phoenix-ipc/shm-layout';
import type { ResponseHeader } from './handler-registry.js';
import { type Lane, LaneRequest } from './lane.js';

/** The promise a handler returned, or null: reading `then` may throw (a getter), and so may adopting it. */
export function promiseOf(result: unknown): Promise<unknown> | null {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return null;
  if (typeof (result as { then?: unknown }).then !== 'function') return null;
  // A native promise is its own resolution (no extra tick); another thenable is adopted, and a `then` that
  // throws rejects it.
  return result instanceof Promise ? result : Promise.resolve(result);
}

function isFuncId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

// The lane's header, response and raw request objects are the handler's to
// read and write during its call, and the next request reuses them (no
// allocation per request). A handler may have frozen them or redefined a
// field: assigning then throws (strict mode), and the lane gets fresh ones.
export function headerFor(lane: Lane, seqId: number, funcId: number, payloadLen: number): MsgHeader {
  try {
    return fillHeader(lane.header, seqId, funcId, payloadLen);
  } catch {
    lane.header = new MsgHeader();
    return fillHeader(lane.header, seqId, funcId, payloadLen);
  }
}

function fillHeader(header: MsgHeader, seqId: number, funcId: number, payloadLen: number): MsgHeader {
  header.seqId = seqId;
  header.funcId = funcId;
  header.payloadLen = payloadLen;
  return header;
}

export function responseFor(lane: Lane, seqId: number, funcId: number): ResponseHeader {
  try {
    return fillResponse(lane.response, seqId, funcId);
  } catch {
    lane.response = { seqId: 0, funcId: 0, payloadLen: 0 };
    return fillResponse(lane.response, seqId, funcId);
  }
}

function fillResponse(response: ResponseHeader, seqId: number, funcId: number): ResponseHeader {
  response.seqId = seqId;
  response.funcId = funcId;
  response.payloadLen = 0;
  return response;
}

export function rawRequestFor(lane: Lane, memory: Uint8Array, start: number, end: number): LaneRequest {
  try {
    return fillRawRequest(lane.raw, lane, memory, start, end);
  } catch {
    lane.raw = new LaneRequest();
    return fillRawRequest(lane.raw, lane, memory, start, end);
  }
}

function fillRawRequest(request: LaneRequest, lane: Lane, memory: Uint8Array, start: number, end: number): LaneRequest {
  request.seqId = lane.seqId;
  request.funcId = lane.funcId;
  request.replyFuncId = lane.funcId;
  request.memory = memory;
  request.start = start;
  request.end = end;
  return request;
}

/**
 * What a handler's outcome comes to: a reply of `length` bytes under
 * `funcId`, or (code not null) the failure to answer with. One per executor,
 * rewritten per request.
 */
export class ReplyVerdict {
  code: PhoenixErrorCode | null = null;
  message = '';
  length = 0;
  funcId = 0;

  reply(funcId: number, length: number): ReplyVerdict {
    this.code = null;
    this.funcId = funcId;
    this.length = length;
    return this;
  }

  failure(code: PhoenixErrorCode, message: string): ReplyVerdict {
    this.code = code;
    this.message = message;
    return this;
  }
}

/**
 * Reads what a handler returned, or left in `response`, and copies a
 * returned Uint8Array into its reply room. All of it inside a try: a
 * detached array, a throwing getter or a proxy fail the call.
 */
export function readReply(
  lane: Lane,
  result: unknown,
  room: Uint8Array,
  maxPayload: number,
  verdict: ReplyVerdict,
): ReplyVerdict {
  let length: unknown;
  let replyFuncId: unknown;
  try {
    replyFuncId = lane.response.funcId;
    if (result instanceof Uint8Array) {
      length = result.length;
      if (result.length <= maxPayload && (result.buffer !== room.buffer || result.byteOffset !== room.byteOffset))
        room.set(result);
    } else if (result === undefined || result === null) {
      length = lane.response.payloadLen;
    } else {
      return verdict.failure(
        'ERR_PHOENIX_HANDLER_FAILED',
        `handler for func id ${lane.funcId} returned ${typeof result}; return a Uint8Array or set response.payloadLen`,
      );
    }
  } catch (error) {
    return unreadable(lane, error, verdict);
  }
  if (!isLength(length)) {
    return verdict.failure(
      'ERR_PHOENIX_HANDLER_FAILED',
      `handler for func id ${lane.funcId} set response.payloadLen to ${describeValue(length)}; set the reply's length in bytes`,
    );
  }
  if (length > maxPayload) {
    return verdict.failure(
      'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
      `reply of ${length} bytes exceeds maxPayloadBytes ${maxPayload}`,
    );
  }
  if (!isFuncId(replyFuncId)) return badFuncId(lane, replyFuncId, 'response.funcId', verdict);
  return verdict.reply(replyFuncId, length);
}

/** The same for a raw handler: it returns the reply's length; `room` is the size of the room it was given. */
export function readRawReply(lane: Lane, length: unknown, room: number, verdict: ReplyVerdict): ReplyVerdict {
  let replyFuncId: unknown;
  try {
    replyFuncId = lane.raw.replyFuncId;
  } catch (error) {
    return unreadable(lane, error, verdict);
  }
  if (!isLength(length)) {
    return verdict.failure(
      'ERR_PHOENIX_HANDLER_FAILED',
      `raw handler for func id ${lane.funcId} returned ${typeof length === 'number' ? String(length) : typeof length}; return the reply's length in bytes`,
    );
  }
  if (length > room) {
    return verdict.failure(
      'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
      `raw handler for func id ${lane.funcId} returned a ${length}-byte reply; its room holds ${room}`,
    );
  }
  if (!isFuncId(replyFuncId)) return badFuncId(lane, replyFuncId, 'request.replyFuncId', verdict);
  return verdict.reply(replyFuncId, length);
}

function isLength(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function unreadable(lane: Lane, error: unknown, verdict: ReplyVerdict): ReplyVerdict {
  return verdict.failure(
    'ERR_PHOENIX_HANDLER_FAILED',
    `the reply of the handler for func id ${lane.funcId} could not be read: ${errorPayloadFrom(error).message}`,
  );
}

function badFuncId(lane: Lane, value: unknown, field: string, verdict: ReplyVerdict): ReplyVerdict {
  return verdict.failure(
    'ERR_PHOENIX_HANDLER_FAILED',
    `handler for func id ${lane.funcId} set ${field} to ${describeValue(value)}; a func id is an integer from 0 to 2^32-1`,
  );
}
