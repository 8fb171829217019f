// What a handler is given (the lane's header, response and raw request
// objects) and what it gives back (a value, a promise, a thenable), handled
// as what they are: the handler's, so anything may have been done to them.
// A surprise here must fail the call with ERR_PHOENIX_HANDLER_FAILED, never
// escape into the worker's loop, which would take it for corrupt memory.
import { describeValue, errorPayloadFrom, MsgHeader } from '@phoenix-ipc/shm-layout';
import type { ResponseHeader } from './handler-registry.js';
import { type Lane, LaneRequest } from './lane.js';

/** The promise a handler returned, or null: reading `then` may throw (a getter), and so may adopting it. */
export function promiseOf(result: unknown): Promise<unknown> | null {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return null;
  if (typeof (result as { then?: unknown }).then !== 'function') return null;
  // A native promise is its own resolution (no extra tick); another thenable is adopted, and a `then` that
  // throws rejects it. So is a subclass of Promise, whose own `then` might call back twice or late: the lane's
  // reactions (request-executor.ts) must each run once per request.
  return Promise.resolve(result);
}

export function isFuncId(value: unknown): value is number {
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

export function isLength(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

// The failure messages, built only when a handler got it wrong.

export function unreadableReply(funcId: number, error: unknown): string {
  return `the reply of the handler for func id ${funcId} could not be read: ${errorPayloadFrom(error).message}`;
}

export function notAReply(funcId: number, result: unknown): string {
  return `handler for func id ${funcId} returned ${typeof result}; return a Uint8Array or set response.payloadLen`;
}

export function notALength(funcId: number, value: unknown): string {
  return `handler for func id ${funcId} set response.payloadLen to ${describeValue(value)}; set the reply's length in bytes`;
}

export function notARawLength(funcId: number, value: unknown): string {
  const got = typeof value === 'number' ? String(value) : typeof value;
  return `raw handler for func id ${funcId} returned ${got}; return the reply's length in bytes`;
}

export function notAFuncId(funcId: number, field: string, value: unknown): string {
  return `handler for func id ${funcId} set ${field} to ${describeValue(value)}; a func id is an integer from 0 to 2^32-1`;
}
