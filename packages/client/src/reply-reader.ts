import {
  decodeErrorPayload,
  Frames,
  MsgStatus,
  PhoenixError,
  type PhoenixShmLayout,
  RESPONSE_FRAME_BYTES,
  type SpscRingBuffer,
} from '@phoenix-ipc/shm-layout';
import { copyFromSegment, SMALL_COPY_BYTES } from './copy-range.js';
import type { InFlightTable } from './in-flight-table.js';
import type { PendingCall } from './pending-call.js';
import type { Reply } from './reply.js';
import { noteFreshReplyMemory } from './reply-memory-gc.js';
import { replyMemory } from './warm-reply-buffer.js';

/** Where the reader hands what it read. */
export interface ReplySink {
  /** Whether call timings are wanted (they are read from the reply frame only then). */
  readonly observed: boolean;
  settle(
    call: PendingCall,
    reply: Reply | null,
    error: PhoenixError | null,
    queueWaitUs: number,
    handlerUs: number,
    fromWorker: boolean,
  ): void;
  /** A response ring failed validation. */
  corrupt(worker: number, error: PhoenixError): void;
  /**
   * Replies from `worker` were read and their room given back, calls to it
   * are still in flight, and no more of its replies are in the ring: a worker
   * parked now found no room for them, and must be rung (nothing else would
   * wake it: it has our requests already).
   */
  roomMade(worker: number): void;
}

/**
 * Reads a caller's response rings: matches each reply to its call by seq id
 * (a reply nobody waits for any more is a duplicate or late, and dropped),
 * checks what it claims against the record it came in, decodes failure
 * replies, and copies the payload out of shared memory — into a Buffer of
 * its own, or into the caller's buffer for callInto.
 */
export class ReplyReader {
  readonly #rings: SpscRingBuffer[];
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #table: InFlightTable;
  readonly #closed: Uint8Array;
  readonly #sink: ReplySink;
  /** callInto: each target buffer's Reply, rewritten by every reply copied into that buffer. */
  readonly #intoReplies = new WeakMap<Uint8Array, Reply>();

  /** `closed`: per worker, non-zero while this caller may not touch that channel (being reset). */
  constructor(layout: PhoenixShmLayout, slot: number, table: InFlightTable, closed: Uint8Array, sink: ReplySink) {
    this.#rings = layout.channels.map((channel) => channel.responseRing(slot));
    this.#words = layout.views.words;
    this.#bytes = layout.views.bytes;
    this.#table = table;
    this.#closed = closed;
    this.#sink = sink;
  }

  /** The response ring of `worker` (its cursors are resynchronised after a reset). */
  ring(worker: number): SpscRingBuffer {
    return this.#rings[worker]!;
  }

  /** The caller found no reply and is about to wait: a good time to ready the next big reply's memory. */
  prepareForWait(): void {
    replyMemory.prepare();
  }

  /**
   * Reads the available replies, from each worker at most half of this
   * caller's calls in flight to it (rounded up); returns how many it read.
   *
   * Why not all of them: a pipelined caller is usually the slower side, so
   * by the time it looks, nearly its whole window has been answered. Taking
   * it all leaves the worker nothing to do while the caller settles those
   * calls and their continuations make the next ones, which then go out as
   * one burst as big: the two sides take turns instead of working at once,
   * and stay that way. Taking half, the caller publishes the calls that half
   * makes (the pump flushes before it reads again) while the worker still
   * has the other half's successors to answer. Measured, closed loop, 64
   * calls of 16 B in flight, alternating in one pair of processes: callAsync
   * +13% and sendInto +13% (8 of 8 rounds each), 1 KiB +7%; a third or three
   * quarters of the window gained 2-3%, a fixed 32 9%. One call in flight
   * reads its one reply as before.
   */
  drain(): number {
    let total = 0;
    const rings = this.#rings;
    for (let worker = 0; worker < rings.length; worker++) {
      const inFlight = this.#table.countTo(worker);
      if (inFlight === 0 || this.#closed[worker] !== 0) continue;
      const ring = rings[worker]!;
      const most = (inFlight + 1) >>> 1;
      let read = 0;
      let roomMade = false;
      try {
        while (read < most) {
          const frame = ring.peekRecord();
          if (frame < 0) break;
          this.#onReply(worker, frame, ring.peekedLength);
          ring.take();
          read++;
        }
        // Calls to it still in flight and nothing more from it to read: if it sleeps, it is a worker that found
        // no room for their replies (an idle one publishes its replies before it parks), and must hear of the room.
        // Inside the try: after a capped read this peek is the first look at the next record, which may be corrupt.
        roomMade = read > 0 && this.#table.countTo(worker) > 0 && ring.peekRecord() < 0;
      } catch (error) {
        if (read > 0) ring.release();
        this.#table.publishCounts();
        this.#sink.corrupt(worker, PhoenixError.from(error, 'ERR_PHOENIX_BAD_RING'));
        continue;
      }
      if (read > 0) {
        ring.release();
        total += read;
        if (roomMade) this.#sink.roomMade(worker);
      }
    }
    this.#table.publishCounts();
    return total;
  }

  #onReply(worker: number, frame: number, recordLength: number): void {
    const words = this.#words;
    const seqId = Frames.responseSeqId(words, frame);
    const call = this.#table.get(seqId);
    if (call === undefined || call.worker !== worker) return; // a duplicate: already accounted for
    this.#table.removeInBatch(call);
    if (call.settled) return; // timed out or aborted earlier; the late reply is dropped
    const sink = this.#sink;
    const payloadLen = Frames.responsePayloadLen(words, frame);
    const funcId = Frames.responseFuncId(words, frame);
    if (payloadLen > recordLength - RESPONSE_FRAME_BYTES) {
      const error = new PhoenixError(
        'ERR_PHOENIX_BAD_RING',
        `reply claims ${payloadLen} payload bytes in a ${recordLength}-byte record`,
        { seqId },
      );
      sink.settle(call, null, error, 0, 0, false);
      return;
    }
    const start = frame + RESPONSE_FRAME_BYTES;
    const queueWaitUs = sink.observed ? Frames.responseQueueWaitUs(words, frame) : 0;
    const handlerUs = sink.observed ? Frames.responseHandlerUs(words, frame) : 0;
    if (Frames.responseIsError(words, frame)) {
      const error = decodeErrorPayload(this.#bytes.subarray(start, start + payloadLen), { seqId, funcId: call.funcId });
      sink.settle(call, null, error, queueWaitUs, handlerUs, true);
      return;
    }
    const decode = call.decode;
    if (decode !== null) {
      let value: unknown;
      try {
        value = decode(this.#bytes, start, start + payloadLen);
      } catch (error) {
        sink.settle(call, null, PhoenixError.from(error, 'ERR_PHOENIX_HANDLER_FAILED'), queueWaitUs, handlerUs, true);
        return;
      }
      // The value stands in for the Reply: callDecoded's promise resolves with it.
      sink.settle(call, value as Reply, null, queueWaitUs, handlerUs, true);
      return;
    }
    const target = call.target;
    if (target !== null && payloadLen > target.length) {
      const error = new PhoenixError(
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `reply of ${payloadLen} bytes does not fit the ${target.length}-byte buffer given to callInto`,
        { seqId, funcId: call.funcId },
      );
      sink.settle(call, null, error, queueWaitUs, handlerUs, true);
      return;
    }
    let reply: Reply;
    if (target === null) {
      reply = {
        seqId,
        funcId,
        status: MsgStatus.Completed,
        payloadLen,
        payload: copyOut(replyMemory.take(payloadLen), words, this.#bytes, start),
      };
    } else {
      // callInto: the reply payload into the caller's buffer (it fits: checked before).
      copyFromSegment(target, words, this.#bytes, start, payloadLen);
      reply = this.#intoReply(target, seqId, funcId, payloadLen);
    }
    sink.settle(call, reply, null, queueWaitUs, handlerUs, true);
  }

  // The Reply of a callInto: one object per target buffer, rewritten by each
  // reply copied into it (the bytes it describes are rewritten then anyway),
  // so a loop that reuses its buffer allocates nothing but the call's promise.
  #intoReply(target: Uint8Array, seqId: number, funcId: number, payloadLen: number): Reply {
    let reply = this.#intoReplies.get(target);
    if (reply === undefined) {
      reply = { seqId, funcId, status: MsgStatus.Completed, payloadLen, payload: target.subarray(0, payloadLen) };
      this.#intoReplies.set(target, reply);
      return reply;
    }
    reply.seqId = seqId;
    reply.funcId = funcId;
    if (reply.payloadLen !== payloadLen || reply.payload.length !== payloadLen) {
      reply.payload = target.subarray(0, payloadLen);
    }
    reply.payloadLen = payloadLen;
    return reply;
  }
}

/**
 * The reply payload out of shared memory, into `payload`, a Buffer of its
 * own of the payload's length (WarmReplyBuffer). Always a Buffer, so
 * reply.payload.toString() means the same at every size. Measured: a Buffer
 * carved from Node's pool plus set() costs 0.2-0.7 µs up to 4 KiB, where
 * slice() mallocs a fresh backing store for anything over 64 bytes (1-2 µs).
 * Above 4 KiB each reply is fresh external memory to V8, which can cost full
 * collections (reply-memory-gc.ts; docs/tuning.md, "Big replies and a big
 * heap"): callInto avoids it.
 */
function copyOut(payload: Uint8Array, words: Int32Array, bytes: Uint8Array, start: number): Uint8Array {
  const length = payload.length;
  // Only a reply this big can be an ArrayBuffer of its own: the small ones never pay for the note.
  if (length > SMALL_COPY_BYTES) noteFreshReplyMemory(length);
  copyFromSegment(payload, words, bytes, start, length);
  return payload;
}
