// Over 400 lines on purpose: this is a worker's per-request path, and the
// checks of what a handler gave back are written out in #complete and
// #completeRaw rather than behind a helper that returns a verdict, which
// measurably cost the worker garbage per request (docs/benchmarks-history.md,
// sixteenth session). The cold parts (the failure messages, the objects a
// handler is handed) live in handler-objects.ts.
import { monotonicClockCell, readMonotonicClock } from '@phoenix-ipc/native-shm';
import {
  type ErrorPayload,
  errorPayloadFrom,
  Frames,
  PhoenixError,
  type PhoenixErrorCode,
  type PhoenixShmLayout,
  REQUEST_FRAME_BYTES,
  RequestState,
  type TransportedDetails,
  type WorkerChannel,
} from '@phoenix-ipc/shm-layout';
import {
  headerFor,
  isFuncId,
  isLength,
  notAFuncId,
  notALength,
  notARawLength,
  notAReply,
  promiseOf,
  rawRequestFor,
  responseFor,
  unreadableReply,
} from './handler-objects.js';
import type { HandlerRegistry, RawHandler } from './handler-registry.js';
import { createLanes, type Lane, LaneTime } from './lane.js';
import type { ReplyPublisher } from './reply-publisher.js';
import type { RequestRelease, ServedSlot } from './served-slots.js';

export interface RequestExecutorConfig {
  layout: PhoenixShmLayout;
  channel: WorkerChannel;
  handlers: HandlerRegistry;
  publisher: ReplyPublisher;
  release: RequestRelease;
  /** Called after each finished request (recycling policy). */
  onProcessed?: ((count: number) => void) | undefined;
  /** Called for every request answered: code null on success; `times` (LaneTime); the caller's slot. */
  onRequestDone?: ((funcId: number, code: string | null, times: Float64Array, slotIndex: number) => void) | undefined;
  /** An async handler's request is answered (`failure`: its slot's rings could not be trusted). */
  onAsyncSettled: (slot: ServedSlot, failure: PhoenixError | null) => void;
}

/**
 * Runs requests on lanes: claims a request, runs its handler (sync or
 * async) on zero-copy views of the request, and answers it through the
 * reply publisher. For each request, in this order (crash recovery relies
 * on it):
 *
 *   1. reserve room for the reply            (no room: leave the request queued)
 *   2. monitor.beginTransaction(seq, slot, ring position)
 *   3. state PENDING -> TAKEN by CAS          (lost: cancelled/moved, skip it)
 *   4. run the handler on zero-copy views
 *   5. the reply goes into the ring: zero copy stages it and marks the
 *      request DONE, publishing with the batch (replyBatch); copying
 *      publishes it, rings the caller, then marks it DONE
 *   6. monitor.endTransaction()
 *   7. publish what is staged, then release the requests' ring space
 *      (the loop, per slot batch)
 *
 * A crash before 5 leaves a TAKEN record named by the monitor: the poison.
 * A crash after 5 with replies staged leaves DONE requests whose replies
 * the supervisor publishes (recovery.ts, publishStagedReplies). A crash
 * between a copying publish and DONE gives the caller its reply and then a
 * crash error for the same seq id, which it drops as a duplicate.
 */
export class RequestExecutor {
  readonly #config: RequestExecutorConfig;
  readonly #channel: WorkerChannel;
  readonly #words: Int32Array;
  readonly #doubles: Float64Array;
  readonly #buffer: ArrayBuffer | SharedArrayBuffer;
  readonly #maxPayload: number;
  readonly #lanes: Lane[];
  readonly #publisher: ReplyPublisher;
  readonly #release: RequestRelease;
  #freeLanes: number;
  #processed = 0;
  /**
   * The clock reading taken when the last request finished, while the loop
   * has not waited since: the next request starts "now" too, so back-to-back
   * requests cost one clock read each instead of two (~100 ns on Node 20).
   * At index 0 (0: none); a typed array, like Lane.times, so that keeping it
   * costs no heap number.
   */
  readonly #finishedAt = new Float64Array(1);

  constructor(config: RequestExecutorConfig) {
    this.#config = config;
    this.#channel = config.channel;
    this.#words = config.layout.views.words;
    this.#doubles = config.layout.views.doubles;
    this.#buffer = config.layout.buffer;
    this.#maxPayload = config.layout.options.maxPayloadBytes;
    this.#publisher = config.publisher;
    this.#release = config.release;
    // Concurrency 1 writes replies in place; more lanes each need a scratch buffer.
    const scratchBytes = config.layout.options.concurrency === 1 ? 0 : this.#maxPayload;
    this.#lanes = createLanes(config.channel.monitors, scratchBytes);
    for (const lane of this.#lanes) this.#react(lane);
    this.#freeLanes = this.#lanes.length;
  }

  /** Lanes free to start a request. */
  get freeLanes(): number {
    return this.#freeLanes;
  }

  /** No handler is running. */
  get idle(): boolean {
    return this.#freeLanes === this.#lanes.length;
  }

  /** Requests answered with their reply in the ring. */
  get processed(): number {
    return this.#processed;
  }

  /** The loop is about to wait: the next request reads the clock itself. */
  forgetClock(): void {
    this.#finishedAt[0] = 0;
  }

  /**
   * Starts the PENDING request at `frame` (peeked, not yet taken, from
   * `slot`'s request ring). False when its reply cannot be reserved: the
   * request stays queued. True otherwise (started, answered, or skipped).
   */
  begin(slot: ServedSlot, frame: number, stateIndex: number, recordLength: number): boolean {
    const words = this.#words;
    const lane = this.#freeLane();
    if (!this.#publisher.reserve(lane, slot)) return false;
    const seqId = Frames.requestSeqId(words, frame);
    const funcId = Frames.requestFuncId(words, frame);
    const payloadLen = Frames.requestPayloadLen(words, frame);
    const attempt = Frames.requestAttempt(words, frame);
    let now = this.#finishedAt[0]!;
    if (now === 0) {
      readMonotonicClock();
      now = monotonicClockCell[0]!;
    }
    this.#finishedAt[0] = 0;
    const times = lane.times;
    times[LaneTime.StartedAt] = now;
    lane.monitor.beginTransactionAt(
      seqId,
      this.#channel.groupId,
      this.#channel.index,
      slot.index,
      slot.requests.readPositionCount,
      funcId,
      attempt,
      times,
      LaneTime.StartedAt,
    );
    // The claim. Partners: the caller's compareExchange PENDING -> CANCELLED or
    // MOVED, and the supervisor's TAKEN -> FAILED/PENDING, which it tries only
    // for a request the monitor (published just above) names.
    if (Atomics.compareExchange(words, stateIndex, RequestState.Pending, RequestState.Taken) !== RequestState.Pending) {
      // The caller cancelled or moved it between our look and our claim.
      this.#publisher.abort(slot);
      lane.monitor.reset();
      slot.requests.take();
      this.#release.taken(slot, true);
      return true;
    }
    // Zero copy: where this request starts; an async handler holds the release there.
    const beforeBytes = slot.requests.readPositionBytes;
    const beforeCount = slot.requests.readPositionCount;
    slot.requests.take();
    lane.order = this.#release.taken(slot, false);
    lane.busy = true;
    this.#freeLanes--;
    slot.inProgress++;
    lane.slot = slot;
    lane.frame = frame;
    lane.stateIndex = stateIndex;
    lane.seqId = seqId;
    lane.funcId = funcId;
    times[LaneTime.HandlerUs] = 0;
    const sentAt = Frames.requestSentAt(this.#doubles, frame);
    times[LaneTime.QueueWaitUs] = sentAt > 0 ? Math.max(0, (now - sentAt) * 1000) : -1;
    if (payloadLen > recordLength - REQUEST_FRAME_BYTES || payloadLen > this.#maxPayload) {
      this.#fail(
        lane,
        'ERR_PHOENIX_BAD_RING',
        `request ${seqId} claims ${payloadLen} payload bytes in a ${recordLength}-byte record`,
      );
      return true;
    }
    const deadline = Frames.requestDeadline(this.#doubles, frame);
    if (deadline !== 0 && now > deadline) {
      this.#fail(
        lane,
        'ERR_PHOENIX_TIMEOUT',
        `request ${seqId} expired ${(now - deadline).toFixed(1)} ms before a worker could start it`,
      );
      return true;
    }
    const registered = this.#config.handlers.get(funcId);
    if (registered === undefined) {
      this.#fail(lane, 'ERR_PHOENIX_NO_HANDLER', `no handler is registered for func id ${funcId}`);
      return true;
    }
    if (registered.raw) {
      this.#runRaw(lane, registered.run, frame, payloadLen, beforeBytes, beforeCount);
      return true;
    }
    const handler = registered.run;
    const header = headerFor(lane, seqId, funcId, payloadLen);
    const response = responseFor(lane, seqId, funcId);
    const payload = new Uint8Array(this.#buffer, frame + REQUEST_FRAME_BYTES, payloadLen);
    const responsePayload = this.#publisher.room(lane);
    let result: unknown;
    let pending: Promise<unknown> | null;
    try {
      result = handler(header, payload, response, responsePayload);
      pending = promiseOf(result);
    } catch (error) {
      this.#handlerFailed(lane, error);
      return true;
    }
    if (pending !== null) {
      this.#release.hold(slot, beforeBytes, beforeCount);
      this.#completeWhenSettled(lane, pending, responsePayload);
      return true;
    }
    this.#complete(lane, result, responsePayload);
    return true;
  }

  // A raw handler: the request and its reply room as offsets into the
  // rings' own views, so nothing is allocated for it.
  #runRaw(
    lane: Lane,
    handler: RawHandler,
    frame: number,
    payloadLen: number,
    beforeBytes: number,
    beforeCount: number,
  ): void {
    const slot = lane.slot;
    const requests = slot.requests;
    const start = frame + REQUEST_FRAME_BYTES - requests.dataStart;
    const request = rawRequestFor(lane, requests.data, start, start + payloadLen);
    this.#publisher.rawRoom(lane);
    const room = request.replyEnd - request.replyStart;
    let result: number | Promise<number>;
    let pending: Promise<unknown> | null;
    try {
      result = handler(request);
      pending = typeof result === 'number' ? null : promiseOf(result);
    } catch (error) {
      this.#handlerFailed(lane, error);
      return;
    }
    if (pending !== null) {
      this.#release.hold(slot, beforeBytes, beforeCount);
      this.#completeRawWhenSettled(lane, pending, room);
      return;
    }
    this.#completeRaw(lane, result, room);
  }

  // `room`: the reply room's size, as given to the handler (which may have rewritten the request's fields).
  // The checks are written out here, not behind a helper that returns a verdict: measured, the helper cost the
  // worker ~30 B of garbage per request (19 scavenges in the million-call run against 1-2).
  #completeRaw(lane: Lane, length: unknown, room: number): void {
    let replyFuncId: unknown;
    try {
      replyFuncId = lane.raw.replyFuncId;
    } catch (error) {
      this.#fail(lane, 'ERR_PHOENIX_HANDLER_FAILED', unreadableReply(lane.funcId, error));
      return;
    }
    if (!isLength(length)) {
      this.#fail(lane, 'ERR_PHOENIX_HANDLER_FAILED', notARawLength(lane.funcId, length));
      return;
    }
    if (length > room) {
      this.#fail(
        lane,
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `raw handler for func id ${lane.funcId} returned a ${length}-byte reply; its room holds ${room}`,
      );
      return;
    }
    if (!isFuncId(replyFuncId)) {
      this.#fail(lane, 'ERR_PHOENIX_HANDLER_FAILED', notAFuncId(lane.funcId, 'request.replyFuncId', replyFuncId));
      return;
    }
    this.#publishReply(lane, replyFuncId, length);
  }

  #freeLane(): Lane {
    const lanes = this.#lanes;
    for (let i = 0; i < lanes.length; i++) if (!lanes[i]!.busy) return lanes[i]!;
    throw new PhoenixError('ERR_PHOENIX_INVALID_STATE', 'no free lane');
  }

  // An async handler's completion, through the lane's own two reactions
  // (made once, in #react): a function that makes closures keeps the
  // variables they capture in a context object, and begin() and #runRaw()
  // would then allocate one for every request, sync or not, whenever V8's
  // optimised code of the moment does not prove it needless (measured: ~75 B
  // of garbage per request, 18-19 scavenges in the million-call run against
  // 0-3); and a reaction made per request cost three closures per request.
  #completeWhenSettled(lane: Lane, pending: Promise<unknown>, responsePayload: Uint8Array): void {
    lane.asyncRoom = responsePayload;
    pending.then(lane.onFulfilled, lane.onRejected);
  }

  #completeRawWhenSettled(lane: Lane, pending: Promise<unknown>, room: number): void {
    lane.asyncRoom = null;
    lane.asyncRawRoom = room;
    pending.then(lane.onFulfilled, lane.onRejected);
  }

  #react(lane: Lane): void {
    lane.onFulfilled = (value) => this.#afterAsync(lane, value, false);
    lane.onRejected = (error) => this.#afterAsync(lane, error, true);
  }

  // `outcome`: the handler's value, or what its promise rejected with when `rejected`.
  #afterAsync(lane: Lane, outcome: unknown, rejected: boolean): void {
    const room = lane.asyncRoom;
    lane.asyncRoom = null;
    let failure: PhoenixError | null = null;
    try {
      if (rejected) this.#handlerFailed(lane, outcome);
      else if (room === null) this.#completeRaw(lane, outcome, lane.asyncRawRoom);
      else this.#complete(lane, outcome, room);
    } catch (error) {
      failure = PhoenixError.from(error, 'ERR_PHOENIX_BAD_RING');
    }
    this.#config.onAsyncSettled(lane.slot, failure);
  }

  // `responsePayload`: the room the handler was given. What the handler returned or left in `response` is read
  // inside a try: a detached array, a throwing getter or a proxy fail the call, never the worker.
  #complete(lane: Lane, result: unknown, responsePayload: Uint8Array): void {
    let length: unknown;
    let replyFuncId: unknown;
    try {
      replyFuncId = lane.response.funcId;
      if (result instanceof Uint8Array) {
        length = result.length;
        // Unless the handler wrote into the room and returned (a view of) it. The offsets first: `.buffer`
        // is a call into C++ (~30 ns), and a reply of the handler's own memory almost never starts at the
        // room's offset.
        if (
          result.length <= this.#maxPayload &&
          (result.byteOffset !== responsePayload.byteOffset || result.buffer !== responsePayload.buffer)
        )
          responsePayload.set(result);
      } else if (result === undefined || result === null) {
        length = lane.response.payloadLen;
      } else {
        this.#fail(lane, 'ERR_PHOENIX_HANDLER_FAILED', notAReply(lane.funcId, result));
        return;
      }
    } catch (error) {
      this.#fail(lane, 'ERR_PHOENIX_HANDLER_FAILED', unreadableReply(lane.funcId, error));
      return;
    }
    if (!isLength(length)) {
      this.#fail(lane, 'ERR_PHOENIX_HANDLER_FAILED', notALength(lane.funcId, length));
      return;
    }
    if (length > this.#maxPayload) {
      this.#fail(
        lane,
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `reply of ${length} bytes exceeds maxPayloadBytes ${this.#maxPayload}`,
      );
      return;
    }
    if (!isFuncId(replyFuncId)) {
      this.#fail(lane, 'ERR_PHOENIX_HANDLER_FAILED', notAFuncId(lane.funcId, 'response.funcId', replyFuncId));
      return;
    }
    this.#publishReply(lane, replyFuncId, length);
  }

  #publishReply(lane: Lane, replyFuncId: number, length: number): void {
    // The clock cell read here, not through a function: a double returned from a call that is not inlined
    // is a heap number, and this runs per request.
    readMonotonicClock();
    const finishedAt = monotonicClockCell[0]!;
    this.#finishedAt[0] = finishedAt;
    const times = lane.times;
    times[LaneTime.HandlerUs] = (finishedAt - times[LaneTime.StartedAt]!) * 1000;
    this.#config.onRequestDone?.(lane.funcId, null, times, lane.slot.index);
    this.#settled(lane, this.#publisher.publish(lane, replyFuncId, length), false);
  }

  // A PhoenixError keeps its code and facts (a handler may pass on the
  // ERR_PHOENIX_TIMEOUT of a call it made); anything else is
  // ERR_PHOENIX_HANDLER_FAILED with the thrown error's description.
  #handlerFailed(lane: Lane, error: unknown): void {
    const { code, message, name, stack, details } = errorPayloadFrom(error);
    this.#fail(lane, code, message, name, stack, details, true);
  }

  // Answers the request with a failure reply (a PhoenixIPC failure at the transport level, never a success).
  #fail(
    lane: Lane,
    code: PhoenixErrorCode,
    message: string,
    name?: string,
    stack?: string,
    details?: TransportedDetails,
    handlerRan = code === 'ERR_PHOENIX_HANDLER_FAILED',
  ): void {
    const times = lane.times;
    times[LaneTime.HandlerUs] = handlerRan ? (clockNow() - times[LaneTime.StartedAt]!) * 1000 : 0;
    this.#config.onRequestDone?.(lane.funcId, code, times, lane.slot.index);
    const error: ErrorPayload = { code, message, name, stack, details };
    this.#settled(lane, this.#publisher.publishError(lane, error), true);
  }

  // The reply is out (published) or waits in the backlog: either way the
  // lane is free and the request's ring space may go. Only a published reply
  // ends the monitor's transaction and counts as processed.
  #settled(lane: Lane, published: boolean, failed: boolean): void {
    if (published) lane.monitor.endTransaction(failed);
    if (lane.order !== null) lane.order.done = true;
    if (lane.busy) {
      lane.busy = false;
      this.#freeLanes++;
      lane.slot.inProgress--;
    }
    if (!published) return;
    this.#processed++;
    this.#config.onProcessed?.(this.#processed);
  }
}

/**
 * monotonicNowMs(), without its garbage: performance.now() returns a fresh
 * heap number each time, and a worker reads the clock once per request (it
 * was most of a worker's garbage per request). The same clock
 * (CLOCK_MONOTONIC), read into a cell by native code.
 */
function clockNow(): number {
  readMonotonicClock();
  return monotonicClockCell[0]!;
}
