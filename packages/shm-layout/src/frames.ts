import {
  MSG_FUNC_ID_OFFSET,
  MSG_PAYLOAD_LEN_OFFSET,
  MSG_SEQ_ID_OFFSET,
  REQUEST_ATTEMPT_OFFSET,
  REQUEST_DEADLINE_OFFSET,
  REQUEST_HEADER_OFFSET,
  REQUEST_SENT_AT_OFFSET,
  REQUEST_STATE_OFFSET,
  RESPONSE_ERROR_FLAG_OFFSET,
  RESPONSE_HANDLER_TIME_OFFSET,
  RESPONSE_HEADER_OFFSET,
  RESPONSE_QUEUE_WAIT_OFFSET,
  RESPONSE_RESERVED_OFFSET,
} from './protocol.js';

/**
 * Allocation-free access to request and response frames by their absolute
 * byte offset in the segment (the offset a ring's peekRecord/reserve returns;
 * always 8-byte aligned). Words are host order, which must be little-endian.
 */
const TWO_POW_32 = 2 ** 32;

export interface SegmentViews {
  readonly words: Int32Array;
  readonly doubles: Float64Array;
  readonly bytes: Uint8Array;
}

export function createSegmentViews(buffer: ArrayBuffer | SharedArrayBuffer): SegmentViews {
  const length = buffer.byteLength;
  return {
    words: new Int32Array(buffer, 0, length >> 2),
    doubles: new Float64Array(buffer, 0, length >> 3),
    bytes: new Uint8Array(buffer, 0, length),
  };
}

export function readSeqId(words: Int32Array, headerOffset: number): number {
  const index = (headerOffset + MSG_SEQ_ID_OFFSET) >> 2;
  return (words[index + 1]! >>> 0) * TWO_POW_32 + (words[index]! >>> 0);
}

function writeHeader(words: Int32Array, headerOffset: number, seqId: number, funcId: number, payloadLen: number): void {
  const index = (headerOffset + MSG_SEQ_ID_OFFSET) >> 2;
  words[index] = seqId >>> 0;
  words[index + 1] = (seqId / TWO_POW_32) | 0;
  words[(headerOffset + MSG_FUNC_ID_OFFSET) >> 2] = funcId | 0;
  words[(headerOffset + MSG_PAYLOAD_LEN_OFFSET) >> 2] = payloadLen;
}

// ------------------------------------------------------------------ requests

/** i32 index of a request's state word, for Atomics.compareExchange. */
export function requestStateIndex(frame: number): number {
  return (frame + REQUEST_STATE_OFFSET) >> 2;
}

export function writeRequestFrame(
  views: SegmentViews,
  frame: number,
  seqId: number,
  funcId: number,
  payloadLen: number,
  deadline: number,
  sentAt = 0,
): void {
  const words = views.words;
  words[(frame + REQUEST_STATE_OFFSET) >> 2] = 0;
  words[(frame + REQUEST_ATTEMPT_OFFSET) >> 2] = 1;
  writeHeader(words, frame + REQUEST_HEADER_OFFSET, seqId, funcId, payloadLen);
  views.doubles[(frame + REQUEST_DEADLINE_OFFSET) >> 3] = deadline;
  views.doubles[(frame + REQUEST_SENT_AT_OFFSET) >> 3] = sentAt;
}

/**
 * Sets a written request's deadline and send time: a caller stamps the
 * requests of a burst with one clock read just before it publishes them.
 */
export function stampRequestFrame(doubles: Float64Array, frame: number, deadline: number, sentAt: number): void {
  doubles[(frame + REQUEST_DEADLINE_OFFSET) >> 3] = deadline;
  doubles[(frame + REQUEST_SENT_AT_OFFSET) >> 3] = sentAt;
}

/** CLOCK_MONOTONIC ms at which the caller wrote the request (0 if it did not say). */
export function requestSentAt(doubles: Float64Array, frame: number): number {
  return doubles[(frame + REQUEST_SENT_AT_OFFSET) >> 3]!;
}

export function requestSeqId(words: Int32Array, frame: number): number {
  return readSeqId(words, frame + REQUEST_HEADER_OFFSET);
}

export function requestFuncId(words: Int32Array, frame: number): number {
  return words[(frame + REQUEST_HEADER_OFFSET + MSG_FUNC_ID_OFFSET) >> 2]! >>> 0;
}

export function requestPayloadLen(words: Int32Array, frame: number): number {
  return words[(frame + REQUEST_HEADER_OFFSET + MSG_PAYLOAD_LEN_OFFSET) >> 2]! >>> 0;
}

export function requestDeadline(doubles: Float64Array, frame: number): number {
  return doubles[(frame + REQUEST_DEADLINE_OFFSET) >> 3]!;
}

export function requestAttempt(words: Int32Array, frame: number): number {
  return words[(frame + REQUEST_ATTEMPT_OFFSET) >> 2]!;
}

export function setRequestAttempt(words: Int32Array, frame: number, attempt: number): void {
  words[(frame + REQUEST_ATTEMPT_OFFSET) >> 2] = attempt;
}

// ----------------------------------------------------------------- responses

export function writeResponseFrame(
  words: Int32Array,
  frame: number,
  seqId: number,
  funcId: number,
  payloadLen: number,
  isError: boolean,
  queueWaitUs: number,
  handlerUs: number,
): void {
  writeHeader(words, frame + RESPONSE_HEADER_OFFSET, seqId, funcId, payloadLen);
  words[(frame + RESPONSE_RESERVED_OFFSET) >> 2] = 0;
  words[(frame + RESPONSE_ERROR_FLAG_OFFSET) >> 2] = isError ? 1 : 0;
  words[(frame + RESPONSE_QUEUE_WAIT_OFFSET) >> 2] = queueWaitUs | 0;
  words[(frame + RESPONSE_HANDLER_TIME_OFFSET) >> 2] = handlerUs | 0;
}

export function responseSeqId(words: Int32Array, frame: number): number {
  return readSeqId(words, frame + RESPONSE_HEADER_OFFSET);
}

export function responseFuncId(words: Int32Array, frame: number): number {
  return words[(frame + RESPONSE_HEADER_OFFSET + MSG_FUNC_ID_OFFSET) >> 2]! >>> 0;
}

export function responsePayloadLen(words: Int32Array, frame: number): number {
  return words[(frame + RESPONSE_HEADER_OFFSET + MSG_PAYLOAD_LEN_OFFSET) >> 2]! >>> 0;
}

export function responseIsError(words: Int32Array, frame: number): boolean {
  return words[(frame + RESPONSE_ERROR_FLAG_OFFSET) >> 2] === 1;
}

export function responseQueueWaitUs(words: Int32Array, frame: number): number {
  return words[(frame + RESPONSE_QUEUE_WAIT_OFFSET) >> 2]!;
}

export function responseHandlerUs(words: Int32Array, frame: number): number {
  return words[(frame + RESPONSE_HANDLER_TIME_OFFSET) >> 2]!;
}
