import { MsgHeader, type ThreadMonitor } from '@phoenix-ipc/shm-layout';
import type { RawRequest, ResponseHeader } from './handler-registry.js';
import type { ServedSlot, TakenRequest } from './served-slots.js';

/**
 * One handler-execution slot, with its own monitor record. A lane runs one
 * request at a time, so it also holds that request's state (no allocation
 * per request).
 */
export interface Lane {
  index: number;
  monitor: ThreadMonitor;
  busy: boolean;
  header: MsgHeader;
  response: ResponseHeader;
  /** What a raw handler gets: the lane's one RawRequest, rewritten per request. */
  raw: LaneRequest;
  /** Concurrency > 1: the handler writes its reply here; it is copied into the ring when done. */
  scratch: Uint8Array | null;
  // The request in progress:
  slot: ServedSlot;
  frame: number;
  stateIndex: number;
  /** Zero copy: absolute offset of the reply reserved in the response ring; -1 otherwise. */
  reply: number;
  seqId: number;
  funcId: number;
  /** Concurrency > 1: the request's place in the in-order release. */
  order: TakenRequest | null;
  /**
   * The request's times (LaneTime indices). A typed array, not number fields:
   * a double passed on or stored into an object field can cost a heap number
   * per request, and these are read and written for every one.
   */
  times: Float64Array;
  /**
   * An async handler's completion: the room it was given (a view handler's
   * responsePayload; null for a raw handler, whose room size is `asyncRawRoom`),
   * and the two reactions, made once per lane by the executor so that a
   * request awaited makes no closure of its own.
   */
  asyncRoom: Uint8Array | null;
  asyncRawRoom: number;
  onFulfilled: (value: unknown) => void;
  onRejected: (error: unknown) => void;
}

/** Indices into Lane.times. */
export const LaneTime = {
  /** From the caller's send time to the start, µs (-1 if the caller gave no time). */
  QueueWaitUs: 0,
  /** The handler's run time, µs (set when it is done). */
  HandlerUs: 1,
  /** When the request started (monotonicNowMs's clock). */
  StartedAt: 2,
  Count: 3,
} as const;

/** A lane's RawRequest: writable here, read-only to the handler. */
export class LaneRequest implements RawRequest {
  seqId = 0;
  funcId = 0;
  memory: Uint8Array = EMPTY;
  start = 0;
  end = 0;
  reply: Uint8Array = EMPTY;
  replyStart = 0;
  replyEnd = 0;
  replyFuncId = 0;
}

const EMPTY = new Uint8Array(0);

/** A lane's reactions until its executor sets its own. */
function noReaction(): void {}

/** One lane per monitor record; `scratchBytes` > 0 gives each its own reply buffer. */
export function createLanes(monitors: readonly ThreadMonitor[], scratchBytes: number): Lane[] {
  return monitors.map((monitor, index) => ({
    index,
    monitor,
    busy: false,
    header: new MsgHeader(),
    response: { seqId: 0, funcId: 0, payloadLen: 0 },
    raw: new LaneRequest(),
    scratch: scratchBytes > 0 ? new Uint8Array(scratchBytes) : null,
    slot: undefined as unknown as ServedSlot,
    frame: -1,
    stateIndex: -1,
    reply: -1,
    seqId: 0,
    funcId: 0,
    order: null,
    times: new Float64Array(LaneTime.Count),
    asyncRoom: null,
    asyncRawRoom: 0,
    onFulfilled: noReaction,
    onRejected: noReaction,
  }));
}
