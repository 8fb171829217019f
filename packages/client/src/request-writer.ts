import { monotonicClockCell, readMonotonicClock } from '@phoenix-ipc/native-shm';
import {
  Frames,
  PhoenixError,
  type PhoenixShmLayout,
  REQUEST_FRAME_BYTES,
  RequestState,
  type SpscRingBuffer,
  type WorkerChannel,
} from '@phoenix-ipc/shm-layout';
import { payloadLength, type RequestBytes, writePayload } from './call-options.js';
import { ringIfParked } from './doorbell-flag.js';
import type { InFlightTable } from './in-flight-table.js';
import type { PendingCall } from './pending-call.js';

/**
 * The producer side of a caller's request rings. A request is written in
 * place and staged; requests written in the same tick are published together
 * by flush(): one tail store and at most one doorbell per ring. (The engine
 * flushes a call at once when it has no other in flight.)
 *
 * flush() also reads the clock, once for the whole burst: every request it
 * publishes gets that send time, and a call with a timeout gets its
 * deadline from it. A clock read costs ~50 ns on a VM (kvm-clock), 7% of a
 * pipelined call; and a timeout then starts when the request leaves, not
 * while synchronous code between call() and the next turn still holds the
 * thread (during which no timer could have fired anyway).
 */
export class RequestWriter {
  readonly #rings: SpscRingBuffer[];
  readonly #channels: readonly WorkerChannel[];
  readonly #doorbellFds: readonly number[];
  readonly #views: PhoenixShmLayout['views'];
  readonly #table: InFlightTable;
  /** A caller keeps at most a ring's capacity in flight per worker, so the worker always has room for the replies. */
  readonly #capacity: Int32Array;
  readonly #dirty: Uint8Array;
  /** The workers with staged requests, in the order they got them: #dirtyList[0, #dirtyCount). */
  readonly #dirtyList: Int32Array;
  #dirtyCount = 0;
  /**
   * The calls written since the last flush (stamped by it): #written[0,
   * #writtenCount). A call may appear twice if it was reused meanwhile. A
   * count, not `length = 0`: V8 drops an emptied array's backing store, and
   * growing it again cost ~27 B of garbage per call.
   */
  readonly #written: (PendingCall | null)[] = [];
  #writtenCount = 0;
  /** A flush rang a worker that was parked, since takeRangParked() last looked. */
  #rangParked = false;
  readonly #onDeadline: (call: PendingCall) => void;

  /** `onDeadline`: a call's deadline was just set (at the flush that published its request). */
  constructor(
    layout: PhoenixShmLayout,
    slot: number,
    workerDoorbellFds: readonly number[],
    table: InFlightTable,
    onDeadline: (call: PendingCall) => void,
  ) {
    this.#onDeadline = onDeadline;
    this.#channels = layout.channels;
    this.#rings = layout.channels.map((channel) => channel.requestRing(slot));
    this.#doorbellFds = workerDoorbellFds;
    this.#views = layout.views;
    this.#table = table;
    this.#capacity = Int32Array.from(this.#rings, (ring) => ring.capacity);
    this.#dirty = new Uint8Array(this.#rings.length);
    this.#dirtyList = new Int32Array(this.#rings.length);
  }

  /** Requests written and not yet published. */
  get staged(): boolean {
    return this.#dirtyCount > 0;
  }

  /** Writes the call's request into `worker`'s ring and stages it; false when the ring has no room. */
  write(call: PendingCall, payload: RequestBytes, worker: number): boolean {
    if (this.#table.countTo(worker) >= this.#capacity[worker]!) return false;
    const ring = this.#rings[worker]!;
    const length = payloadLength(payload);
    const frame = ring.reserve(REQUEST_FRAME_BYTES + length);
    if (frame < 0) return false;
    call.msgIndex = ring.producedCount;
    // Deadline and send time: stamped by flush().
    Frames.writeRequestFrame(this.#views, frame, call.seqId, call.funcId, length, call.deadline, 0);
    try {
      writePayload(this.#views.bytes, frame + REQUEST_FRAME_BYTES, payload, this.#views.words);
    } catch (error) {
      // The caller's bytes could not be read: give the room back, or the ring would refuse every later
      // request (one reservation at a time), and fail this call alone.
      ring.abort();
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        `the request payload could not be read: ${error instanceof Error ? error.message : String(error)}`,
        { funcId: call.funcId, seqId: call.seqId },
      );
    }
    this.#written[this.#writtenCount++] = call;
    ring.stage();
    call.worker = worker;
    call.frame = frame;
    call.payload = null;
    this.#table.add(call);
    if (this.#dirty[worker] === 0) {
      this.#dirty[worker] = 1;
      this.#dirtyList[this.#dirtyCount++] = worker;
    }
    return true;
  }

  /** Stamps every staged request, publishes the counts, then the requests, and rings each worker that sleeps. */
  flush(): void {
    if (this.#writtenCount > 0) this.#stamp();
    // Counts first: PENDING never shows fewer requests than a worker can see (the doorbell rescue skips a channel at 0).
    this.#table.publishCounts();
    const list = this.#dirtyList;
    const count = this.#dirtyCount;
    if (count > 0) {
      for (let i = 0; i < count; i++) {
        const worker = list[i]!;
        this.#dirty[worker] = 0;
        this.#rings[worker]!.flush();
        this.wake(worker);
      }
      this.#dirtyCount = 0;
    }
  }

  /**
   * Rings `worker` if it sleeps: after a flush, or when its caller has read
   * replies a worker waiting for room in the response ring needs gone.
   */
  wake(worker: number): void {
    if (ringIfParked(this.#views.words, this.#channels[worker]!.parkedIndex, this.#doorbellFds[worker]!))
      this.#rangParked = true;
  }

  /** Whether a flush rang a parked worker since the last time this was asked (Waiter.yieldToWokenPeer). */
  takeRangParked(): boolean {
    const rang = this.#rangParked;
    this.#rangParked = false;
    return rang;
  }

  // One clock read for the burst. A call settled since it was written
  // (aborted, its channel failed) is left alone: it may be back in the pool.
  #stamp(): void {
    const written = this.#written;
    // The native clock (CLOCK_MONOTONIC, as monotonicNowMs): performance.now()
    // returns a fresh heap number, ~16 B per burst.
    readMonotonicClock();
    const now = monotonicClockCell[0]!;
    const doubles = this.#views.doubles;
    const count = this.#writtenCount;
    for (let i = 0; i < count; i++) {
      const call = written[i]!;
      written[i] = null; // the pool may hand it out again: hold it no longer
      if (call.settled || call.worker < 0) continue;
      if (call.deadline === 0 && call.timeoutMs > 0) {
        if (call.startedAt === 0) call.startedAt = now;
        call.deadline = now + call.timeoutMs;
        this.#onDeadline(call);
      }
      Frames.stampRequestFrame(doubles, call.frame, call.deadline, now);
    }
    this.#writtenCount = 0;
  }

  /**
   * Moves a written, unstarted request from PENDING to `to` (CANCELLED or
   * MOVED) and takes it out of the table. Only possible while the worker has
   * not consumed the record: after that the bytes at `frame` may belong to a
   * newer request of ours.
   */
  cancel(call: PendingCall, to: number): boolean {
    const consumed = this.#rings[call.worker]!.consumedCount();
    if (((consumed - call.msgIndex) | 0) > 0) return false;
    const stateIndex = Frames.requestStateIndex(call.frame);
    if (Atomics.compareExchange(this.#views.words, stateIndex, RequestState.Pending, to) !== RequestState.Pending)
      return false;
    this.#table.remove(call);
    return true;
  }

  /** The request's payload, copied out of the ring (failover writes it again elsewhere). */
  payloadOf(call: PendingCall): Uint8Array {
    const start = call.frame + REQUEST_FRAME_BYTES;
    return this.#views.bytes.slice(start, start + Frames.requestPayloadLen(this.#views.words, call.frame));
  }

  /** Forgets what is staged for `worker` (its channel is being reset). */
  discard(worker: number): void {
    if (this.#dirty[worker] === 0) return;
    this.#dirty[worker] = 0;
    const list = this.#dirtyList;
    const at = list.subarray(0, this.#dirtyCount).indexOf(worker);
    if (at < 0) return;
    list.copyWithin(at, at + 1, this.#dirtyCount);
    this.#dirtyCount--;
  }

  /** Takes the producer role of `worker`'s freshly formatted ring up again. */
  resync(worker: number): void {
    this.#rings[worker]!.resync();
  }
}
