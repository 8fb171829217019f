import { copyRange } from '@phoenix-ipc/client/internal';
import { type ErrorPayload, encodeErrorPayload, Frames, RESPONSE_FRAME_BYTES } from '@phoenix-ipc/shm-layout';
import { type Lane, LaneTime } from './lane.js';
import { announce, type ReplyPublisher, type ReplyPublisherConfig, RetryTimer } from './reply-publisher.js';
import type { ServedSlot, ServedSlots } from './served-slots.js';

/**
 * Concurrency > 1: each lane's handler writes into the lane's scratch; the
 * finished reply is copied into the response ring as a whole record. When
 * the ring has no room, the record waits in the slot's backlog, in order, and
 * the slot takes no new requests until the backlog is through (its lane is
 * free meanwhile). A retry timer runs the loop while any backlog waits.
 */
export class CopyingPublisher implements ReplyPublisher {
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #replyRoom: number;
  readonly #slots: ServedSlots;
  readonly #retry: RetryTimer;

  constructor(config: ReplyPublisherConfig) {
    this.#words = config.layout.views.words;
    this.#bytes = config.layout.views.bytes;
    this.#replyRoom = config.replyRoom;
    this.#slots = config.slots;
    const slots = config.slots;
    this.#retry = new RetryTimer(config.runLoop, () => slots.active.some((slot) => slot.backlog.length > 0));
  }

  // Room is found when the reply is done (or it waits in the backlog).
  reserve(): boolean {
    return true;
  }

  abort(): void {}

  room(lane: Lane): Uint8Array {
    return lane.scratch!;
  }

  rawRoom(lane: Lane): void {
    const raw = lane.raw;
    raw.reply = lane.scratch!;
    raw.replyStart = 0;
    raw.replyEnd = lane.scratch!.length;
  }

  publish(lane: Lane, funcId: number, length: number): boolean {
    return this.#publishCopy(lane, funcId, lane.scratch!, length, false);
  }

  publishError(lane: Lane, error: ErrorPayload): boolean {
    const room = new Uint8Array(this.#replyRoom);
    const length = encodeErrorPayload(room, error);
    return this.#publishCopy(lane, lane.funcId, room, length, true);
  }

  // Copies a finished reply (the first `length` bytes of `body`) into the
  // response ring, or queues it when the ring has no room (or replies are
  // queued before it: order is kept). Into the ring it is written in place:
  // a record built apart first cost a fresh ArrayBuffer and three views per
  // reply, and halved a worker's pipelined rate (thirty-ninth session).
  #publishCopy(lane: Lane, funcId: number, body: Uint8Array, length: number, isError: boolean): boolean {
    const slot = lane.slot;
    if (slot.backlog.length === 0) {
      if (!this.#slots.serves(slot)) {
        // Slot gone: nobody to answer.
        announce(this.#words, slot, lane.stateIndex);
        return true;
      }
      const frame = slot.responses.reserve(RESPONSE_FRAME_BYTES + length);
      if (frame >= 0) {
        this.#writeFrame(this.#words, frame, lane, funcId, length, isError);
        copyRange(this.#bytes, frame + RESPONSE_FRAME_BYTES, body, 0, length);
        // The ring's release store of the tail (partner: the caller's acquire load of it in its reply reader).
        slot.responses.commit();
        announce(this.#words, slot, lane.stateIndex);
        return true;
      }
    }
    const bytes = new Uint8Array(RESPONSE_FRAME_BYTES + length);
    this.#writeFrame(new Int32Array(bytes.buffer, 0, RESPONSE_FRAME_BYTES >> 2), 0, lane, funcId, length, isError);
    copyRange(bytes, RESPONSE_FRAME_BYTES, body, 0, length);
    slot.backlog.push({ bytes, stateIndex: lane.stateIndex });
    this.#retry.arm();
    return false;
  }

  #writeFrame(words: Int32Array, frame: number, lane: Lane, funcId: number, length: number, isError: boolean): void {
    const times = lane.times;
    Frames.writeResponseFrame(
      words,
      frame,
      lane.seqId,
      funcId,
      length,
      isError,
      times[LaneTime.QueueWaitUs]!,
      times[LaneTime.HandlerUs]!,
    );
  }

  // push() writes the record and then publishes it with the ring's release
  // store (partner: the caller's acquire load of the tail in its reply reader).
  #tryPush(slot: ServedSlot, bytes: Uint8Array): boolean {
    if (!this.#slots.serves(slot)) return true; // slot gone: nobody to answer
    return slot.responses.push(bytes);
  }

  // Replies finish in any order here and each is pushed as it finishes.
  publishStaged(): void {}

  flush(slot: ServedSlot): boolean {
    while (slot.backlog.length > 0) {
      const entry = slot.backlog[0]!;
      if (!this.#tryPush(slot, entry.bytes)) return false;
      slot.backlog.shift();
      announce(this.#words, slot, entry.stateIndex);
      if (slot.backlog.length === 0) this.#retry.reset();
    }
    return true;
  }

  hasReplyRoom(slot: ServedSlot): boolean {
    return slot.backlog.length === 0 || slot.responses.canReserve(slot.backlog[0]!.bytes.length);
  }

  close(): void {
    this.#retry.cancel();
  }
}
