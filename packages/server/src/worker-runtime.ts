import { AdaptiveSpin, ringIfParked } from '@phoenix-ipc/client/internal';
import { FdWatcher } from '@phoenix-ipc/native-shm';
import {
  encodeErrorPayload,
  errorPayloadFrom,
  Frames,
  MsgHeader,
  MsgStatus,
  monotonicNowMs,
  PhoenixError,
  type PhoenixErrorCode,
  type PhoenixShmLayout,
  REQUEST_FRAME_BYTES,
  RESPONSE_FRAME_BYTES,
  RequestState,
  SegmentDescriptor,
  SlotState,
  type SpscRingBuffer,
  type ThreadMonitor,
  type TransportedDetails,
  type WaitStrategy,
  type WorkerChannel,
} from '@phoenix-ipc/shm-layout';
import type { HandlerRegistry, ResponseHeader } from './handler-registry.js';

export interface WorkerRuntimeConfig {
  layout: PhoenixShmLayout;
  channel: WorkerChannel;
  /** This worker's eventfd (callers ring it when it is parked). */
  doorbellFd: number;
  /** Each caller slot's eventfd, by slot index. */
  slotDoorbellFds: readonly number[];
  handlers: HandlerRegistry;
  waitStrategy: WaitStrategy;
  /** A request ring failed validation: the worker stops serving that slot and reports it. */
  onCorruptSlot?: (slot: number, error: PhoenixError) => void;
  /** Called after each finished request (recycling policy). */
  onProcessed?: (count: number) => void;
  /** Called for every request answered: code null on success; times in µs. */
  onRequestDone?: (funcId: number, code: string | null, queueWaitUs: number, handlerUs: number) => void;
}

/** A caller slot this worker serves (attached at one slot generation). */
interface ServedSlot {
  index: number;
  generation: number;
  requests: SpscRingBuffer;
  responses: SpscRingBuffer;
  parkedIndex: number;
  doorbellFd: number;
  /** Concurrency > 1: taken requests in ring order, released in order once done. */
  inOrder: { bytes: number; count: number; done: boolean }[];
  /** Finished replies that did not fit in the response ring yet. */
  backlog: { bytes: Uint8Array; stateIndex: number; lane: Lane }[];
  /** Handlers running for this slot's requests. */
  inProgress: number;
  /** Zero copy: where the running async request starts; release stops there until it is done. */
  hold: { bytes: number; count: number } | null;
  /** The supervisor is taking the slot back: serve nothing more, ack once inProgress is 0. */
  closing: boolean;
}

/**
 * One handler-execution slot, with its own monitor record. A lane runs one
 * request at a time, so it also holds that request's state (no allocation
 * per request).
 */
interface Lane {
  index: number;
  monitor: ThreadMonitor;
  busy: boolean;
  header: MsgHeader;
  response: ResponseHeader;
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
  order: { bytes: number; count: number; done: boolean } | null;
  startedAt: number;
  /** From the caller's send time to the start, µs (-1 if the caller gave no time). */
  queueWaitUs: number;
}

type Job = Lane;

const BATCH_PER_SLOT = 64;
const SLICE_MS = 2;
const BACKLOG_RETRY_MS = 1;
const SAFETY_WAKE_MS = 250;
const SAFETY_WAKE_MAX_MS = 4000;

/**
 * The worker's serving loop. It consumes its request ring in every active
 * caller slot and produces replies into the matching response ring. For each
 * request, in this order (crash recovery relies on it):
 *
 *   1. reserve room for the reply            (no room: leave the request queued)
 *   2. monitor.beginTransaction(seq, slot, ring position)
 *   3. state PENDING -> TAKEN by CAS          (lost: cancelled/moved, skip it)
 *   4. run the handler on zero-copy views
 *   5. publish the reply (commit + doorbell)
 *   6. state TAKEN -> DONE, monitor.endTransaction()
 *   7. release the request's ring space       (batched)
 *
 * A crash before 5 leaves a TAKEN record named by the monitor: the poison.
 * A crash between 5 and 6 gives the caller its reply and then a crash error
 * for the same seq id, which it drops as a duplicate.
 *
 * Waiting: spin briefly (adaptive), then publish PARKED and sleep on the
 * eventfd through a libuv watcher (no thread, no CPU).
 */
export class WorkerRuntime {
  readonly #config: WorkerRuntimeConfig;
  readonly #layout: PhoenixShmLayout;
  readonly #channel: WorkerChannel;
  readonly #words: Int32Array;
  readonly #doubles: Float64Array;
  readonly #buffer: ArrayBuffer | SharedArrayBuffer;
  readonly #maxPayload: number;
  readonly #replyRoom: number;
  readonly #lanes: Lane[];
  readonly #zeroCopy: boolean;
  readonly #spin: AdaptiveSpin;
  readonly #watcher: FdWatcher;
  readonly #served: (ServedSlot | undefined)[];
  readonly #active: ServedSlot[] = [];
  readonly #runBound = () => this.#run();
  #slotEpoch = -1;
  readonly #slotEpochIndex: number;
  #freeLanes: number;
  #running = false;
  #runScheduled = false;
  /**
   * The clock reading taken when the last job finished, while the run loop
   * has not waited since: the next job starts "now" too, so back-to-back
   * requests cost one clock read each instead of two (~100 ns on Node 20).
   */
  #finishedAt = 0;
  #stopping = false;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];
  #backlogTimer: NodeJS.Timeout | undefined;
  #safetyTimer: NodeJS.Timeout | undefined;
  #safetyDelayMs = 0;
  #processedAtSafetyWake = 0;
  #roundRobin = 0;
  #processed = 0;

  constructor(config: WorkerRuntimeConfig) {
    this.#config = config;
    this.#layout = config.layout;
    this.#channel = config.channel;
    this.#words = config.layout.views.words;
    this.#doubles = config.layout.views.doubles;
    this.#buffer = config.layout.buffer;
    this.#maxPayload = config.layout.options.maxPayloadBytes;
    const ringMax = config.channel.requestRing(0).maxMessageSize;
    this.#replyRoom = ringMax - RESPONSE_FRAME_BYTES;
    const concurrency = config.layout.options.concurrency;
    this.#zeroCopy = concurrency === 1;
    this.#lanes = config.channel.monitors.map((monitor, index) => ({
      index,
      monitor,
      busy: false,
      header: new MsgHeader(),
      response: { seqId: 0, funcId: 0, payloadLen: 0 },
      scratch: this.#zeroCopy ? null : new Uint8Array(this.#maxPayload),
      slot: undefined as unknown as ServedSlot,
      frame: -1,
      stateIndex: -1,
      reply: -1,
      seqId: 0,
      funcId: 0,
      order: null,
      startedAt: 0,
      queueWaitUs: 0,
    }));
    this.#freeLanes = this.#lanes.length;
    this.#slotEpochIndex = SegmentDescriptor.SLOT_EPOCH_OFFSET >> 2;
    this.#served = new Array(config.layout.slots.length);
    this.#spin = new AdaptiveSpin(config.waitStrategy);
    this.#watcher = new FdWatcher(config.doorbellFd, () => this.#onDoorbell(), { drain: true });
  }

  /** Starts serving (the watcher keeps the process alive). */
  start(): void {
    this.#watcher.start();
    this.#schedule();
    this.#armSafetyWake(SAFETY_WAKE_MS);
  }

  // A safety net for a PARKED word a broken peer overwrote (producers then
  // cannot ring us): a look at the rings now and then. It backs off, up to
  // SAFETY_WAKE_MAX_MS, while the worker stays idle, so an idle worker costs
  // next to nothing; any served request brings it back to SAFETY_WAKE_MS.
  #armSafetyWake(delayMs: number): void {
    this.#safetyDelayMs = delayMs;
    this.#safetyTimer = setTimeout(this.#onSafetyWake, delayMs);
    this.#safetyTimer.unref();
  }

  readonly #onSafetyWake = (): void => {
    if (this.#stopped) return;
    let next = Math.min(this.#safetyDelayMs * 2, SAFETY_WAKE_MAX_MS);
    if (!this.#running && !this.#runScheduled && this.#hasWork()) {
      this.#run();
      next = SAFETY_WAKE_MS;
    } else if (this.#processed !== this.#processedAtSafetyWake) {
      next = SAFETY_WAKE_MS;
    }
    this.#processedAtSafetyWake = this.#processed;
    this.#armSafetyWake(next);
  };

  get processed(): number {
    return this.#processed;
  }

  /**
   * Stops taking requests; resolves once the handlers in progress have
   * finished and their replies are published. Queued requests stay in the
   * rings for whoever serves them next.
   */
  stop(): Promise<void> {
    this.#stopping = true;
    if (this.#freeLanes === this.#lanes.length) return Promise.resolve(this.#finish());
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #finish(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const slot of this.#active) this.#releaseDone(slot);
    this.#watcher.close();
    if (this.#backlogTimer !== undefined) clearTimeout(this.#backlogTimer);
    if (this.#safetyTimer !== undefined) clearTimeout(this.#safetyTimer);
    Atomics.store(this.#words, this.#channel.parkedIndex, 0);
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #onDoorbell(): void {
    Atomics.store(this.#words, this.#channel.parkedIndex, 0);
    this.#spin.woke(performance.now());
    this.#run();
  }

  #schedule(): void {
    if (this.#runScheduled || this.#stopped) return;
    this.#runScheduled = true;
    setImmediate(this.#runBound);
  }

  // ------------------------------------------------------------- slots

  // Re-reads the caller slots when the supervisor has changed any.
  #refreshSlots(): void {
    const epoch = Atomics.load(this.#words, this.#slotEpochIndex);
    if (epoch === this.#slotEpoch) return;
    this.#slotEpoch = epoch;
    const words = this.#words;
    const me = this.#channel.globalIndex;
    let waiting = false;
    for (const slot of this.#layout.slots) {
      const state = slot.state;
      const generation = slot.generation;
      const served = this.#served[slot.index];
      if (state === SlotState.Active && served !== undefined && served.generation === generation) continue;
      if (served !== undefined) {
        if (served.inProgress > 0) {
          // A handler still holds views into this slot's rings: ack only after it is done.
          served.closing = true;
          waiting = true;
          continue;
        }
        this.#detach(served);
      }
      if (state === SlotState.Active) {
        try {
          this.#attach(slot.index, generation);
        } catch (error) {
          this.#config.onCorruptSlot?.(slot.index, PhoenixError.from(error, 'ERR_PHOENIX_BAD_RING'));
        }
      }
      // Draining: tell the supervisor we no longer touch this slot's rings.
      else if (state === SlotState.Draining && slot.ack(me) !== generation)
        Atomics.store(words, slot.ackIndex(me), generation);
    }
    if (waiting) this.#slotEpoch = -1;
  }

  #attach(index: number, generation: number): void {
    const previous = this.#served[index];
    if (previous !== undefined) this.#detach(previous);
    const requests = this.#channel.requestRing(index);
    const responses = this.#channel.responseRing(index);
    // We take over the consumer role of the request ring and the producer role
    // of the response ring from whoever had them (a predecessor, or nobody).
    requests.resync();
    responses.resync();
    const served: ServedSlot = {
      index,
      generation,
      requests,
      responses,
      parkedIndex: this.#layout.getSlot(index).parkedIndex,
      doorbellFd: this.#config.slotDoorbellFds[index]!,
      inOrder: [],
      backlog: [],
      inProgress: 0,
      hold: null,
      closing: false,
    };
    this.#served[index] = served;
    this.#active.push(served);
  }

  #detach(served: ServedSlot): void {
    this.#served[served.index] = undefined;
    const at = this.#active.indexOf(served);
    if (at >= 0) this.#active.splice(at, 1);
    served.backlog.length = 0;
  }

  // --------------------------------------------------------------- loop

  #run(): void {
    this.#runScheduled = false;
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#finishedAt = 0;
    const sliceStart = performance.now();
    try {
      for (;;) {
        if (this.#stopping) break;
        this.#refreshSlots();
        let progress = 0;
        const active = this.#active;
        const count = active.length;
        for (let i = 0; i < count && this.#freeLanes > 0; i++) {
          const slot = active[(this.#roundRobin + i) % count];
          if (slot !== undefined) progress += this.#serveSlot(slot);
        }
        this.#roundRobin = (this.#roundRobin + 1) % Math.max(1, count);
        if (this.#freeLanes === 0) break; // async handlers in progress call back into #run
        if (progress > 0) {
          if (performance.now() - sliceStart > SLICE_MS) {
            this.#schedule(); // let timers, IPC and async work in
            break;
          }
          continue;
        }
        if (this.#idleSpin()) continue;
        if (this.#park()) break;
      }
    } finally {
      this.#running = false;
    }
    if (this.#stopping && this.#freeLanes === this.#lanes.length) this.#finish();
  }

  // Spins on the rings for the adaptive budget; true if work showed up.
  #idleSpin(): boolean {
    this.#finishedAt = 0;
    const start = performance.now();
    const budgetUs = this.#spin.budgetAt(start);
    if (budgetUs <= 0) return false;
    const limitMs = Math.min(budgetUs / 1000, SLICE_MS);
    for (let polls = 1; ; polls++) {
      if (this.#hasWork()) {
        this.#spin.succeeded((performance.now() - start) * 1000);
        return true;
      }
      if ((polls & 15) === 0 && performance.now() - start >= limitMs) break;
    }
    if (this.#spin.strategy === 'spin') this.#schedule();
    return false;
  }

  // Publishes PARKED, re-checks, and returns true if it may sleep.
  #park(): boolean {
    if (this.#spin.strategy === 'spin') return true; // #idleSpin scheduled the next run
    const words = this.#words;
    Atomics.store(words, this.#channel.parkedIndex, 1);
    if (this.#hasWork()) {
      Atomics.store(words, this.#channel.parkedIndex, 0);
      return false;
    }
    this.#spin.parked(performance.now());
    return true;
  }

  #hasWork(): boolean {
    if (Atomics.load(this.#words, this.#slotEpochIndex) !== this.#slotEpoch) return true;
    const active = this.#active;
    for (let i = 0; i < active.length; i++) {
      const slot = active[i]!;
      if (slot.closing || slot.backlog.length > 0) continue;
      try {
        if (slot.requests.peekRecord() >= 0) return true;
      } catch {
        return true; // #serveSlot will meet the corruption and handle it
      }
    }
    return false;
  }

  // Serves up to a batch of requests from one slot; returns how many it handled.
  #serveSlot(slot: ServedSlot): number {
    if (slot.closing) return 0;
    if (slot.backlog.length > 0 && !this.#flushBacklog(slot)) return 0;
    const ring = slot.requests;
    const words = this.#words;
    let handled = 0;
    try {
      while (handled < BATCH_PER_SLOT && this.#freeLanes > 0 && !this.#stopping) {
        const frame = ring.peekRecord();
        if (frame < 0) break;
        const stateIndex = Frames.requestStateIndex(frame);
        if (Atomics.load(words, stateIndex) !== RequestState.Pending) {
          // Cancelled, moved, or finished by a predecessor: nobody runs it.
          ring.take();
          this.#markTaken(slot, true);
          handled++;
          continue;
        }
        const outcome = this.#begin(slot, frame, stateIndex, ring.peekedLength);
        if (outcome === STOP) break;
        handled++;
      }
    } catch (error) {
      this.#corrupt(slot, PhoenixError.from(error, 'ERR_PHOENIX_BAD_RING'));
      return handled;
    }
    this.#releaseDone(slot);
    return handled;
  }

  // Records a taken request for in-order release (concurrency > 1 only).
  #markTaken(slot: ServedSlot, done: boolean): { bytes: number; count: number; done: boolean } | null {
    if (this.#zeroCopy) return null;
    const entry = { bytes: slot.requests.readPositionBytes, count: slot.requests.readPositionCount, done };
    slot.inOrder.push(entry);
    return entry;
  }

  #releaseDone(slot: ServedSlot): void {
    if (this.#zeroCopy) {
      const hold = slot.hold;
      if (hold === null) slot.requests.release();
      else slot.requests.releaseTo(hold.bytes, hold.count);
      return;
    }
    const queue = slot.inOrder;
    let last: { bytes: number; count: number } | undefined;
    let n = 0;
    while (n < queue.length && queue[n]!.done) last = queue[n++];
    if (last !== undefined) {
      queue.splice(0, n);
      slot.requests.releaseTo(last.bytes, last.count);
    }
  }

  // Starts one request. Returns STOP when the reply cannot be reserved (the
  // request stays queued), else CONTINUE.
  #begin(slot: ServedSlot, frame: number, stateIndex: number, recordLength: number): number {
    const words = this.#words;
    const lane = this.#freeLane();
    let reply = -1;
    if (this.#zeroCopy) {
      reply = slot.responses.reserve(RESPONSE_FRAME_BYTES + this.#replyRoom);
      if (reply < 0) {
        this.#armBacklogRetry();
        return STOP;
      }
    }
    const seqId = Frames.requestSeqId(words, frame);
    const funcId = Frames.requestFuncId(words, frame);
    const payloadLen = Frames.requestPayloadLen(words, frame);
    const attempt = Frames.requestAttempt(words, frame);
    const now = this.#finishedAt !== 0 ? this.#finishedAt : monotonicNowMs();
    this.#finishedAt = 0;
    // Zero copy: this request's reply is the next message of the response ring.
    if (this.#zeroCopy) lane.monitor.setReplyMark(slot.responses.producedCount);
    lane.monitor.beginTransaction(
      seqId,
      this.#channel.groupId,
      this.#channel.index,
      slot.index,
      slot.requests.readPositionCount,
      funcId,
      attempt,
      now,
    );
    if (Atomics.compareExchange(words, stateIndex, RequestState.Pending, RequestState.Taken) !== RequestState.Pending) {
      // The caller cancelled or moved it between our look and our claim.
      if (reply >= 0) slot.responses.abort();
      lane.monitor.reset();
      slot.requests.take();
      this.#markTaken(slot, true);
      return CONTINUE;
    }
    // Zero copy: where this request starts; an async handler holds the release there.
    const beforeBytes = slot.requests.readPositionBytes;
    const beforeCount = slot.requests.readPositionCount;
    slot.requests.take();
    const order = this.#markTaken(slot, false);
    lane.busy = true;
    this.#freeLanes--;
    slot.inProgress++;
    const job: Job = lane;
    job.slot = slot;
    job.frame = frame;
    job.stateIndex = stateIndex;
    job.reply = reply;
    job.seqId = seqId;
    job.funcId = funcId;
    job.order = order;
    job.startedAt = now;
    const sentAt = Frames.requestSentAt(this.#doubles, frame);
    job.queueWaitUs = sentAt > 0 ? Math.max(0, (now - sentAt) * 1000) : -1;
    if (payloadLen > recordLength - REQUEST_FRAME_BYTES || payloadLen > this.#maxPayload) {
      this.#fail(
        job,
        'ERR_PHOENIX_BAD_RING',
        `request ${seqId} claims ${payloadLen} payload bytes in a ${recordLength}-byte record`,
      );
      return CONTINUE;
    }
    const deadline = Frames.requestDeadline(this.#doubles, frame);
    if (deadline !== 0 && now > deadline) {
      this.#fail(
        job,
        'ERR_PHOENIX_TIMEOUT',
        `request ${seqId} expired ${(now - deadline).toFixed(1)} ms before a worker could start it`,
      );
      return CONTINUE;
    }
    const handler = this.#config.handlers.get(funcId);
    if (handler === undefined) {
      this.#fail(job, 'ERR_PHOENIX_NO_HANDLER', `no handler is registered for func id ${funcId}`);
      return CONTINUE;
    }
    const header = lane.header;
    header.seqId = seqId;
    header.funcId = funcId;
    header.payloadLen = payloadLen;
    const response = lane.response;
    response.seqId = seqId;
    response.funcId = funcId;
    response.payloadLen = 0;
    const payload = new Uint8Array(this.#buffer, frame + REQUEST_FRAME_BYTES, payloadLen);
    const responsePayload =
      reply >= 0 ? new Uint8Array(this.#buffer, reply + RESPONSE_FRAME_BYTES, this.#maxPayload) : lane.scratch!;
    let result: unknown;
    try {
      result = handler(header, payload, response, responsePayload);
    } catch (error) {
      this.#handlerFailed(job, error);
      return CONTINUE;
    }
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      if (this.#zeroCopy) slot.hold = { bytes: beforeBytes, count: beforeCount };
      (result as Promise<unknown>).then(
        (value) => this.#afterAsync(job, () => this.#complete(job, value, responsePayload)),
        (error: unknown) => this.#afterAsync(job, () => this.#handlerFailed(job, error)),
      );
      return CONTINUE;
    }
    this.#complete(job, result, responsePayload);
    return CONTINUE;
  }

  #freeLane(): Lane {
    const lanes = this.#lanes;
    for (let i = 0; i < lanes.length; i++) if (!lanes[i]!.busy) return lanes[i]!;
    throw new PhoenixError('ERR_PHOENIX_INVALID_STATE', 'no free lane');
  }

  #afterAsync(job: Job, finish: () => void): void {
    try {
      finish();
    } catch (error) {
      this.#corrupt(job.slot, PhoenixError.from(error, 'ERR_PHOENIX_BAD_RING'));
    }
    job.slot.hold = null;
    if (this.#served[job.slot.index] === job.slot) this.#releaseDone(job.slot);
    if (job.slot.closing) this.#slotEpoch = -1;
    if (this.#stopping) {
      if (this.#freeLanes === this.#lanes.length) this.#finish();
    } else {
      this.#run();
    }
  }

  #complete(job: Job, result: unknown, responsePayload: Uint8Array): void {
    let length = job.response.payloadLen;
    if (result instanceof Uint8Array) {
      if (result.length > this.#maxPayload) {
        this.#fail(
          job,
          'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
          `reply of ${result.length} bytes exceeds maxPayloadBytes ${this.#maxPayload}`,
        );
        return;
      }
      if (result.buffer !== responsePayload.buffer || result.byteOffset !== responsePayload.byteOffset)
        responsePayload.set(result);
      length = result.length;
    } else if (result !== undefined && result !== null) {
      this.#fail(
        job,
        'ERR_PHOENIX_HANDLER_FAILED',
        `handler for func id ${job.funcId} returned ${typeof result}; return a Uint8Array or set response.payloadLen`,
      );
      return;
    }
    if (!Number.isInteger(length) || length < 0 || length > this.#maxPayload) {
      this.#fail(
        job,
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `response.payloadLen ${String(length)} is not within 0..maxPayloadBytes ${this.#maxPayload}`,
      );
      return;
    }
    const finishedAt = monotonicNowMs();
    this.#finishedAt = finishedAt;
    const handlerUs = (finishedAt - job.startedAt) * 1000;
    const funcId = job.response.funcId >>> 0;
    this.#config.onRequestDone?.(job.funcId, null, job.queueWaitUs, handlerUs);
    if (job.reply >= 0) {
      Frames.writeResponseFrame(
        this.#words,
        job.reply,
        job.seqId,
        funcId,
        length,
        MsgStatus.Completed,
        false,
        job.queueWaitUs,
        handlerUs,
      );
      job.slot.responses.commit(RESPONSE_FRAME_BYTES + length);
      this.#finishJob(job, false);
    } else {
      this.#publishCopy(job, funcId, responsePayload.subarray(0, length), MsgStatus.Completed, false, handlerUs);
    }
  }

  // A PhoenixError keeps its code and facts (a handler may pass on the
  // ERR_PHOENIX_TIMEOUT of a call it made); anything else is
  // ERR_PHOENIX_HANDLER_FAILED with the thrown error's description.
  #handlerFailed(job: Job, error: unknown): void {
    const { code, message, name, stack, details } = errorPayloadFrom(error);
    this.#fail(job, code, message, name, stack, details, true);
  }

  // Answers the request with a failure reply (a PhoenixIPC failure at the transport level, never a success).
  #fail(
    job: Job,
    code: PhoenixErrorCode,
    message: string,
    name?: string,
    stack?: string,
    details?: TransportedDetails,
    handlerRan = code === 'ERR_PHOENIX_HANDLER_FAILED',
  ): void {
    const handlerUs = handlerRan ? (monotonicNowMs() - job.startedAt) * 1000 : 0;
    this.#config.onRequestDone?.(job.funcId, code, job.queueWaitUs, handlerUs);
    if (job.reply >= 0) {
      const start = job.reply + RESPONSE_FRAME_BYTES;
      const room = new Uint8Array(this.#buffer, start, this.#replyRoom);
      const length = encodeErrorPayload(room, { code, message, name, stack, details });
      Frames.writeResponseFrame(
        this.#words,
        job.reply,
        job.seqId,
        job.funcId,
        length,
        MsgStatus.Failed,
        true,
        job.queueWaitUs,
        handlerUs,
      );
      job.slot.responses.commit(RESPONSE_FRAME_BYTES + length);
      this.#finishJob(job, true);
      return;
    }
    const room = new Uint8Array(this.#replyRoom);
    const length = encodeErrorPayload(room, { code, message, name, stack, details });
    this.#publishCopy(job, job.funcId, room.subarray(0, length), MsgStatus.Failed, true, handlerUs);
  }

  // Concurrency > 1: copies a finished reply into the response ring, or
  // queues it when the ring has no room.
  #publishCopy(job: Job, funcId: number, body: Uint8Array, status: number, isError: boolean, handlerUs: number): void {
    const bytes = new Uint8Array(RESPONSE_FRAME_BYTES + body.length);
    const words = new Int32Array(bytes.buffer, 0, RESPONSE_FRAME_BYTES >> 2);
    Frames.writeResponseFrame(words, 0, job.seqId, funcId, body.length, status, isError, job.queueWaitUs, handlerUs);
    bytes.set(body, RESPONSE_FRAME_BYTES);
    const slot = job.slot;
    if (slot.backlog.length > 0 || !this.#tryPublish(slot, bytes)) {
      slot.backlog.push({ bytes, stateIndex: job.stateIndex, lane: job });
      this.#armBacklogRetry();
      this.#freeJobLane(job);
      if (job.order !== null) job.order.done = true;
      return;
    }
    this.#finishJob(job, isError);
  }

  #tryPublish(slot: ServedSlot, bytes: Uint8Array): boolean {
    if (this.#served[slot.index] !== slot) return true; // slot gone: nobody to answer
    return slot.responses.push(bytes);
  }

  #flushBacklog(slot: ServedSlot): boolean {
    const words = this.#words;
    while (slot.backlog.length > 0) {
      const entry = slot.backlog[0]!;
      if (!this.#tryPublish(slot, entry.bytes)) return false;
      slot.backlog.shift();
      ringIfParked(words, slot.parkedIndex, slot.doorbellFd);
      Atomics.store(words, entry.stateIndex, RequestState.Done);
    }
    return true;
  }

  #armBacklogRetry(): void {
    if (this.#backlogTimer !== undefined) return;
    this.#backlogTimer = setTimeout(() => {
      this.#backlogTimer = undefined;
      this.#run();
      if (this.#active.some((slot) => slot.backlog.length > 0)) this.#armBacklogRetry();
    }, BACKLOG_RETRY_MS);
  }

  // Reply published: doorbell, DONE, monitor end, lane free.
  #finishJob(job: Job, failed: boolean): void {
    const words = this.#words;
    const slot = job.slot;
    ringIfParked(words, slot.parkedIndex, slot.doorbellFd);
    Atomics.store(words, job.stateIndex, RequestState.Done);
    job.monitor.endTransaction(failed);
    if (job.order !== null) job.order.done = true;
    this.#freeJobLane(job);
    this.#processed++;
    this.#config.onProcessed?.(this.#processed);
  }

  #freeJobLane(job: Job): void {
    if (job.busy) {
      job.busy = false;
      this.#freeLanes++;
      job.slot.inProgress--;
    }
  }

  // A request ring we cannot trust: stop serving the slot and report it.
  #corrupt(slot: ServedSlot, error: PhoenixError): void {
    this.#detach(slot);
    this.#config.onCorruptSlot?.(slot.index, error);
  }
}

const STOP = 0;
const CONTINUE = 1;
