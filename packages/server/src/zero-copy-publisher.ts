import { ringIfParked } from '@phoenix-ipc/client/internal';
import {
  type ErrorPayload,
  encodeErrorPayload,
  Frames,
  RESPONSE_FRAME_BYTES,
  RequestState,
} from '@phoenix-ipc/shm-layout';
import { type Lane, LaneTime } from './lane.js';
import type { ReplyPublisher, ReplyPublisherConfig } from './reply-publisher.js';
import { RetryTimer } from './reply-publisher.js';
import type { ServedSlot } from './served-slots.js';

/**
 * Concurrency 1: the handler writes its reply straight into the response
 * ring. The room is reserved before the request is claimed, so a claimed
 * request always has somewhere to answer; with no room the request stays
 * queued and the loop looks again after the retry delay.
 *
 * Replies are staged and published in batches: after `replyBatch` of them,
 * or when the loop stops serving the slot (publishStaged). A request is DONE
 * as soon as its reply is staged, so that a worker dying mid-batch leaves
 * the supervisor what it needs to publish those replies itself (recovery.ts,
 * publishStagedReplies): requests that ran get their reply, only the one
 * running fails.
 */
export class ZeroCopyPublisher implements ReplyPublisher {
  readonly #words: Int32Array;
  readonly #buffer: ArrayBuffer | SharedArrayBuffer;
  readonly #maxPayload: number;
  readonly #replyRoom: number;
  readonly #retry: RetryTimer;
  readonly #replyBatch: number;

  constructor(config: ReplyPublisherConfig) {
    this.#replyBatch = config.replyBatch;
    this.#words = config.layout.views.words;
    this.#buffer = config.layout.buffer;
    this.#maxPayload = config.layout.options.maxPayloadBytes;
    this.#replyRoom = config.replyRoom;
    // No backlog here: one retry per full ring, the loop re-arms it if still full.
    this.#retry = new RetryTimer(config.runLoop, () => false);
  }

  reserve(lane: Lane, slot: ServedSlot): boolean {
    const reply = slot.responses.reserve(RESPONSE_FRAME_BYTES + this.#replyRoom);
    if (reply < 0) {
      slot.waitsForReplyRoom = true;
      this.#retry.arm();
      return false;
    }
    if (slot.waitsForReplyRoom) {
      slot.waitsForReplyRoom = false;
      this.#retry.reset();
    }
    lane.reply = reply;
    // This request's reply is the next message of the response ring: recovery
    // compares the ring's published count with this mark to tell whether the
    // reply went out before a crash. The lane is free, so its monitor is idle:
    // the mark is read only once beginTransaction publishes the record.
    lane.monitor.setReplyMark(slot.responses.producedCount);
    return true;
  }

  abort(slot: ServedSlot): void {
    slot.responses.abort();
  }

  room(lane: Lane): Uint8Array {
    return new Uint8Array(this.#buffer, lane.reply + RESPONSE_FRAME_BYTES, this.#maxPayload);
  }

  // The reserved record lies whole inside the ring's data region (a record
  // never straddles its end), so its payload is a range of the ring's view.
  rawRoom(lane: Lane): void {
    const raw = lane.raw;
    const responses = lane.slot.responses;
    raw.reply = responses.data;
    raw.replyStart = lane.reply + RESPONSE_FRAME_BYTES - responses.dataStart;
    raw.replyEnd = raw.replyStart + this.#maxPayload;
  }

  publish(lane: Lane, funcId: number, length: number): boolean {
    const times = lane.times;
    Frames.writeResponseFrame(
      this.#words,
      lane.reply,
      lane.seqId,
      funcId,
      length,
      false,
      times[LaneTime.QueueWaitUs]!,
      times[LaneTime.HandlerUs]!,
    );
    this.#commit(lane, length);
    return true;
  }

  publishError(lane: Lane, error: ErrorPayload): boolean {
    const room = new Uint8Array(this.#buffer, lane.reply + RESPONSE_FRAME_BYTES, this.#replyRoom);
    const length = encodeErrorPayload(room, error);
    Frames.writeResponseFrame(
      this.#words,
      lane.reply,
      lane.seqId,
      lane.funcId,
      length,
      true,
      lane.times[LaneTime.QueueWaitUs]!,
      lane.times[LaneTime.HandlerUs]!,
    );
    this.#commit(lane, length);
    return true;
  }

  // Stages the record and marks the request DONE (release store; partner:
  // the supervisor's compareExchange of TAKEN in recovery, and its check of
  // DONE before it publishes a staged reply). The flush is the ring's release
  // store of the records (partner: the caller's acquire load of the tail), so
  // frames and payloads written before are visible with them.
  #commit(lane: Lane, length: number): void {
    const slot = lane.slot;
    slot.responses.stage(RESPONSE_FRAME_BYTES + length);
    Atomics.store(this.#words, lane.stateIndex, RequestState.Done);
    if (++slot.staged >= this.#replyBatch) this.publishStaged(slot);
  }

  publishStaged(slot: ServedSlot): void {
    if (slot.staged === 0) return;
    slot.staged = 0;
    slot.responses.flush();
    ringIfParked(this.#words, slot.parkedIndex, slot.doorbellFd);
  }

  flush(): boolean {
    return true;
  }

  hasReplyRoom(slot: ServedSlot): boolean {
    return !slot.waitsForReplyRoom || slot.responses.canReserve(RESPONSE_FRAME_BYTES + this.#replyRoom);
  }

  close(): void {
    this.#retry.cancel();
  }
}
