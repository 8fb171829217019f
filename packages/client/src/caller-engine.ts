import { drainEventFd, FdWatcher, pollSync } from '@phoenix-ipc/native-shm';
import {
  Frames,
  MsgStatus,
  monotonicNowMs,
  PhoenixError,
  type PhoenixShmLayout,
  REQUEST_FRAME_BYTES,
  RESPONSE_FRAME_BYTES,
  RequestState,
  type SpscRingBuffer,
  type WaitStrategy,
  type WorkerChannel,
  WorkerState,
} from '@phoenix-ipc/shm-layout';
import { AdaptiveSpin } from './adaptive-spin.js';
import type { ResolvedCall } from './call-options.js';
import { ringIfParked } from './doorbell-flag.js';
import { decodeErrorPayload } from './error-payload.js';
import { PendingCall } from './pending-call.js';
import type { Reply } from './reply.js';
import { DeadlineQueues, Fifo } from './timeout-queues.js';

/** One finished call. The object is reused: copy what you keep beyond the callback. */
export interface CallEvent {
  funcId: number;
  /** 0 normal, 1 VIP. */
  groupId: number;
  /** null on success. */
  code: string | null;
  /** A failure decided here (timeout, abort, crash notice...) rather than a worker's failure reply. */
  local: boolean;
  totalUs: number;
  /** From the worker's reply: time queued before the handler started, and the handler's run time. */
  queueWaitUs: number;
  handlerUs: number;
}

/** Called once per finished call (for metrics). */
export type CallObserver = (event: CallEvent) => void;

export interface CallerEngineConfig {
  layout: PhoenixShmLayout;
  /** This caller's slot: it produces the slot's request rings and consumes its response rings. */
  slot: number;
  /** The eventfd workers ring when this caller is parked. */
  doorbellFd: number;
  /** Each worker's eventfd, by global index (normal workers first). */
  workerDoorbellFds: readonly number[];
  waitStrategy: WaitStrategy;
  /** Extra fds callSync also waits on (control socket, pidfds); index i is reported to onSyncWake(i). */
  syncWaitFds?: (call: { worker: number }) => number[];
  onSyncWake?: (index: number, call: { worker: number; seqId: number }) => void;
  observer?: CallObserver;
  /** A response ring failed validation (corrupt memory); its calls have been failed with ERR_PHOENIX_BAD_RING. */
  onCorruptChannel?: (worker: number, error: PhoenixError) => void;
}

const WAIT_RETRY_MS = 1;
/** Replies up to this size are copied byte by byte (measured faster than set() on a subarray). */
const SMALL_COPY_BYTES = 32;
const SPIN_SLICE_MS = 1;
/** A pump chained through microtasks for longer than this yields to the event loop (timers, sockets). */
const MICROTASK_SLICE_MS = 2;

/**
 * The caller side of PhoenixIPC, shared by IpcClient (a client process) and
 * the supervisor's own calls. It writes requests straight into the chosen
 * worker's request ring in its slot, reads replies from its own response
 * rings, and waits with a spin-then-park strategy.
 *
 * Requests issued in the same tick are staged and published by one microtask
 * (one tail store and at most one doorbell per ring). Every request is
 * counted in the worker's shared PENDING word (least-loaded dispatch) from
 * the moment it is written until its reply, cancellation, move or failure is
 * seen — exactly once, because the in-flight map keeps timed-out calls until
 * their fate is known.
 */
export class CallerEngine {
  readonly layout: PhoenixShmLayout;
  readonly slot: number;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #views: PhoenixShmLayout['views'];
  readonly #channels: readonly WorkerChannel[];
  readonly #requestRings: SpscRingBuffer[];
  readonly #responseRings: SpscRingBuffer[];
  readonly #ringCapacity: Int32Array;
  readonly #perWorker: Int32Array;
  readonly #dirty: Uint8Array;
  /** Channels being reformatted after corruption: not used until channelReady(). */
  readonly #blocked: Uint8Array;
  readonly #dirtyList: number[] = [];
  readonly #inFlight = new Map<number, PendingCall>();
  /**
   * Calls waiting for queue space, one FIFO per target group (normal, VIP):
   * a call whose group has room goes out at once, whatever waits for the other.
   */
  readonly #waiting = [new Fifo<PendingCall>(), new Fifo<PendingCall>()] as const;
  #waitingCount = 0;
  readonly #deadlines = new DeadlineQueues<PendingCall>();
  readonly #spin: AdaptiveSpin;
  readonly #config: CallerEngineConfig;
  readonly #watcher: FdWatcher;
  readonly #maxPayload: number;
  readonly #parkedIndex: number;
  readonly #outstandingIndex: Int32Array;
  readonly #pendingIndex: Int32Array;
  readonly #pumpBound = () => this.#pump();
  readonly #timerBound = () => this.#onTimer();
  readonly #retryBound = () => this.#onRetryTimer();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #live = 0;
  #pumpScheduled = false;
  #parked = false;
  #macrotaskAt = 0;
  #sentAt = 0;
  readonly #event: CallEvent = {
    funcId: 0,
    groupId: 0,
    code: null,
    local: false,
    totalUs: 0,
    queueWaitUs: 0,
    handlerUs: 0,
  };
  #microtaskPumps = 0;
  #closed = false;
  #refed = false;
  #observer: CallObserver | undefined;

  constructor(config: CallerEngineConfig) {
    this.#config = config;
    this.layout = config.layout;
    this.slot = config.slot;
    this.#views = config.layout.views;
    this.#words = this.#views.words;
    this.#bytes = this.#views.bytes;
    this.#channels = config.layout.channels;
    const workers = this.#channels.length;
    this.#requestRings = this.#channels.map((channel) => channel.requestRing(config.slot));
    this.#responseRings = this.#channels.map((channel) => channel.responseRing(config.slot));
    // A caller keeps at most `capacity` requests in flight per worker, so the
    // worker always finds room (by count) in the response ring for the reply.
    this.#ringCapacity = Int32Array.from(this.#requestRings, (ring) => ring.capacity);
    this.#perWorker = new Int32Array(workers);
    this.#dirty = new Uint8Array(workers);
    this.#blocked = new Uint8Array(workers);
    this.#spin = new AdaptiveSpin(config.waitStrategy);
    this.#maxPayload = config.layout.options.maxPayloadBytes;
    const ownSlot = config.layout.getSlot(config.slot);
    this.#parkedIndex = ownSlot.parkedIndex;
    this.#outstandingIndex = Int32Array.from(this.#channels, (channel) =>
      ownSlot.outstandingIndex(channel.globalIndex),
    );
    this.#pendingIndex = Int32Array.from(this.#channels, (channel) => channel.pendingIndex);
    this.#watcher = new FdWatcher(config.doorbellFd, () => this.#onDoorbell(), { drain: true, ref: false });
    this.#watcher.start();
    this.#observer = config.observer;
  }

  /** Receives one event per finished call (metrics); undefined to stop. */
  set observer(observer: CallObserver | undefined) {
    this.#observer = observer;
  }

  /** Calls whose promise is still unsettled. */
  get liveCalls(): number {
    return this.#live;
  }

  /** Requests written and not yet accounted for (live calls plus timed-out ones awaiting their reply). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  // ------------------------------------------------------------------ submit

  /** Sends a call; the promise settles with its Reply or a PhoenixError. Validation is the caller's. */
  call(funcId: number, payload: Uint8Array, options: ResolvedCall, target: Uint8Array | null = null): Promise<Reply> {
    let call: PendingCall;
    try {
      call = this.#submit(funcId, payload, options, false);
      call.target = target;
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Reply>((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
    });
  }

  /**
   * Blocks the thread until the reply: a brief spin, then poll(2) on the
   * doorbell (and the config's extra fds). Replies to this caller's other
   * calls that arrive meanwhile are handled too (their promises settle later).
   */
  callSync(funcId: number, payload: Uint8Array, options: ResolvedCall): Reply {
    const call = this.#submit(funcId, payload, options, true);
    this.#flushDirty();
    const words = this.#words;
    for (;;) {
      this.#drain();
      if (this.#waitingCount > 0) {
        this.#retryWaiting();
        this.#flushDirty();
      }
      if (call.settled) return this.#syncResult(call);
      const now = monotonicNowMs();
      if (call.deadline !== 0 && now >= call.deadline) {
        this.#expire(call, 'ERR_PHOENIX_TIMEOUT');
        return this.#syncResult(call);
      }
      const start = performance.now();
      const budgetUs = Math.min(this.#spin.budgetAt(start), 1000);
      if (budgetUs > 0) {
        let found = false;
        for (let polls = 1; ; polls++) {
          if (this.#drain() > 0) {
            found = true;
            break;
          }
          if ((polls & 15) === 0 && (performance.now() - start) * 1000 >= budgetUs) break;
        }
        if (found) {
          this.#spin.succeeded((performance.now() - start) * 1000);
          continue;
        }
      }
      Atomics.store(words, this.#parkedIndex, 1);
      if (this.#drain() > 0 || call.settled) {
        Atomics.store(words, this.#parkedIndex, 0);
        continue;
      }
      const extra = this.#config.syncWaitFds?.(call) ?? [];
      const fds = [this.#config.doorbellFd, ...extra];
      const remaining = call.deadline === 0 ? 1000 : Math.max(0, Math.min(1000, call.deadline - now));
      this.#spin.parked(performance.now());
      const ready = pollSync(fds, remaining);
      Atomics.store(words, this.#parkedIndex, 0);
      this.#spin.woke(performance.now());
      if (ready === 0) drainEventFd(this.#config.doorbellFd);
      else if (ready > 0) this.#config.onSyncWake?.(ready - 1, call);
    }
  }

  #syncResult(call: PendingCall): Reply {
    if (call.syncError !== null) throw call.syncError;
    return call.syncReply!;
  }

  #submit(funcId: number, payload: Uint8Array, options: ResolvedCall, sync: boolean): PendingCall {
    if (this.#closed) throw new PhoenixError('ERR_PHOENIX_NOT_CONNECTED', 'the caller is closed');
    if (payload.length > this.#maxPayload) {
      throw new PhoenixError(
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `request payload of ${payload.length} bytes exceeds maxPayloadBytes ${this.#maxPayload}`,
        { funcId },
      );
    }
    const signal = options.signal;
    if (signal?.aborted)
      throw new PhoenixError('ERR_PHOENIX_ABORTED', 'the call was aborted before it was sent', { funcId });
    const layout = this.layout;
    const groupId = options.priority === 1 && layout.vipChannels.length > 0 ? 1 : 0;
    const call = new PendingCall();
    call.funcId = funcId;
    call.groupId = groupId;
    call.sync = sync;
    call.onQueueFull = options.onQueueFull;
    call.seqId = layout.nextSeqId();
    // Ids come from a shared counter a broken peer could rewind: never reuse one still in flight.
    while (this.#inFlight.has(call.seqId)) call.seqId = layout.nextSeqId();
    if (options.timeoutMs > 0 || this.#observer !== undefined) call.startedAt = monotonicNowMs();
    if (options.timeoutMs > 0) {
      call.timeoutMs = options.timeoutMs;
      call.deadline = call.startedAt + options.timeoutMs;
    }
    // FIFO within the group: while earlier calls to it wait for space, later ones queue behind them.
    const waiting = this.#waiting[groupId]!;
    const written = waiting.length === 0 && this.#write(call, payload, -1);
    if (!written) {
      if (call.onQueueFull === 'reject') {
        throw new PhoenixError('ERR_PHOENIX_QUEUE_FULL', "the target worker's queue is full", {
          funcId,
          seqId: call.seqId,
        });
      }
      call.payload = payload;
      waiting.push(call);
      this.#waitingCount++;
      this.#armRetry();
    }
    this.#live++;
    if (call.deadline !== 0) this.#addDeadline(call);
    if (signal !== undefined) {
      call.signal = signal;
      call.onAbort = () => this.#expire(call, 'ERR_PHOENIX_ABORTED');
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    if (!sync) {
      this.#ref();
      this.#schedulePump();
    }
    return call;
  }

  // Picks the least-loaded worker of the call's group (never `exclude`) and
  // writes the request there. False when it has no room; throws UNAVAILABLE
  // when the group has no worker that can ever answer.
  #write(call: PendingCall, payload: Uint8Array, exclude: number): boolean {
    const worker = this.#pickWorker(call.groupId, exclude);
    if (worker === -2) return false; // the only worker's channel is being reset: wait for it
    if (worker < 0) {
      throw new PhoenixError(
        'ERR_PHOENIX_UNAVAILABLE',
        `no ${call.groupId === 1 ? 'VIP' : 'normal'} worker can serve the call (all down or stopped)`,
        { funcId: call.funcId, seqId: call.seqId },
      );
    }
    if (this.#perWorker[worker]! >= this.#ringCapacity[worker]!) return false;
    const ring = this.#requestRings[worker]!;
    const frame = ring.reserve(REQUEST_FRAME_BYTES + payload.length);
    if (frame < 0) return false;
    call.msgIndex = ring.producedCount;
    // One clock read per burst: calls written in the same tick were sent together.
    if (this.#sentAt === 0) this.#sentAt = call.startedAt !== 0 ? call.startedAt : monotonicNowMs();
    Frames.writeRequestFrame(this.#views, frame, call.seqId, call.funcId, payload.length, call.deadline, this.#sentAt);
    this.#bytes.set(payload, frame + REQUEST_FRAME_BYTES);
    ring.stage();
    call.worker = worker;
    call.frame = frame;
    call.payload = null;
    this.#inFlight.set(call.seqId, call);
    this.#count(worker, 1);
    if (this.#dirty[worker] === 0) {
      this.#dirty[worker] = 1;
      this.#dirtyList.push(worker);
    }
    return true;
  }

  #pickWorker(groupId: number, exclude: number): number {
    const layout = this.layout;
    const offset = groupId === 1 ? layout.options.normalWorkers : 0;
    if (exclude < 0) {
      const index = groupId === 1 ? layout.findBestVipWorker() : layout.findBestNormalWorker();
      if (index < 0) return -1;
      if (this.#blocked[index + offset] === 0) return index + offset;
      exclude = index + offset; // its channel is being reset: any other worker of the group
      const other = this.#pickWorker(groupId, exclude);
      return other >= 0 ? other : -2;
    }
    const group = groupId === 1 ? layout.vipChannels : layout.normalChannels;
    let best = -1;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const channel of group) {
      if (
        channel.globalIndex === exclude ||
        channel.state !== WorkerState.Running ||
        this.#blocked[channel.globalIndex] !== 0
      )
        continue;
      const load = channel.pending;
      if (load < bestLoad) {
        best = channel.globalIndex;
        bestLoad = load;
      }
    }
    return best;
  }

  // In-flight accounting: local count, the worker's shared PENDING word, and
  // this slot's OUTSTANDING mirror (so the supervisor can repair PENDING if we die).
  #count(worker: number, delta: number): void {
    const perWorker = this.#perWorker;
    perWorker[worker]! += delta;
    Atomics.add(this.#words, this.#pendingIndex[worker]!, delta);
    this.#words[this.#outstandingIndex[worker]!] = perWorker[worker]!;
  }

  // ------------------------------------------------------------------ publish

  #flushDirty(): void {
    this.#sentAt = 0;
    const list = this.#dirtyList;
    if (list.length === 0) return;
    const words = this.#words;
    for (let i = 0; i < list.length; i++) {
      const worker = list[i]!;
      this.#dirty[worker] = 0;
      this.#requestRings[worker]!.flush();
      ringIfParked(words, this.#channels[worker]!.parkedIndex, this.#config.workerDoorbellFds[worker]!);
    }
    list.length = 0;
  }

  // ------------------------------------------------------------------ replies

  /** Reads every available reply; returns how many it read. */
  #drain(): number {
    let total = 0;
    const perWorker = this.#perWorker;
    for (let worker = 0; worker < perWorker.length; worker++) {
      if (perWorker[worker] === 0 || this.#blocked[worker] !== 0) continue;
      const ring = this.#responseRings[worker]!;
      let read = 0;
      try {
        for (;;) {
          const frame = ring.peekRecord();
          if (frame < 0) break;
          this.#onReply(worker, frame, ring.peekedLength);
          ring.take();
          read++;
        }
      } catch (error) {
        if (read > 0) ring.release();
        this.#onCorruptChannel(worker, PhoenixError.from(error, 'ERR_PHOENIX_BAD_RING'));
        continue;
      }
      if (read > 0) {
        ring.release();
        total += read;
      }
    }
    if (total > 0 && this.#waitingCount > 0) this.#retryWaiting();
    return total;
  }

  #onReply(worker: number, frame: number, recordLength: number): void {
    const words = this.#words;
    const seqId = Frames.responseSeqId(words, frame);
    const call = this.#inFlight.get(seqId);
    if (call === undefined || call.worker !== worker) return; // a duplicate: already accounted for
    this.#inFlight.delete(seqId);
    this.#count(worker, -1);
    if (call.settled) return; // timed out or aborted earlier; the late reply is dropped
    const payloadLen = Frames.responsePayloadLen(words, frame);
    const funcId = Frames.responseFuncId(words, frame);
    if (payloadLen > recordLength - RESPONSE_FRAME_BYTES) {
      this.#settle(
        call,
        null,
        new PhoenixError(
          'ERR_PHOENIX_BAD_RING',
          `reply claims ${payloadLen} payload bytes in a ${recordLength}-byte record`,
          { seqId },
        ),
      );
      return;
    }
    const start = frame + RESPONSE_FRAME_BYTES;
    const observed = this.#observer !== undefined;
    const queueWaitUs = observed ? Frames.responseQueueWaitUs(words, frame) : 0;
    const handlerUs = observed ? Frames.responseHandlerUs(words, frame) : 0;
    if (Frames.responseIsError(words, frame)) {
      const error = decodeErrorPayload(this.#bytes.subarray(start, start + payloadLen), { seqId, funcId: call.funcId });
      this.#settle(call, null, error, queueWaitUs, handlerUs, true);
      return;
    }
    let payload: Uint8Array;
    const target = call.target;
    if (target === null) {
      // Always a Buffer, so reply.payload.toString() means the same at every
      // size. Measured: Buffer.allocUnsafe (carved from Node's pool, no
      // zero-fill) plus set() costs 0.2-0.7 µs up to 4 KiB, where slice()
      // mallocs a fresh backing store for anything over 64 bytes (1-2 µs).
      payload = Buffer.allocUnsafe(payloadLen);
      if (payloadLen <= SMALL_COPY_BYTES) {
        // A byte loop beats set(subarray(...)) here: no view object per reply.
        const bytes = this.#bytes;
        for (let i = 0; i < payloadLen; i++) payload[i] = bytes[start + i]!;
      } else {
        payload.set(this.#bytes.subarray(start, start + payloadLen));
      }
    } else if (payloadLen <= target.length) {
      target.set(this.#bytes.subarray(start, start + payloadLen));
      payload = target.subarray(0, payloadLen);
    } else {
      const error = new PhoenixError(
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `reply of ${payloadLen} bytes does not fit the ${target.length}-byte buffer given to callInto`,
        { seqId, funcId: call.funcId },
      );
      this.#settle(call, null, error, queueWaitUs, handlerUs, true);
      return;
    }
    const reply: Reply = {
      seqId,
      funcId,
      status: MsgStatus.Completed,
      payloadLen,
      payload,
    };
    this.#settle(call, reply, null, queueWaitUs, handlerUs, true);
  }

  #settle(
    call: PendingCall,
    reply: Reply | null,
    error: PhoenixError | null,
    queueWaitUs = 0,
    handlerUs = 0,
    fromWorker = false,
  ): void {
    if (call.settled) return;
    call.settled = true;
    this.#live--;
    if (call.deadline !== 0) this.#deadlines.prune(call.timeoutMs);
    if (call.onAbort !== undefined) {
      call.signal!.removeEventListener('abort', call.onAbort);
      call.onAbort = undefined;
      call.signal = undefined;
    }
    const observer = this.#observer;
    if (observer !== undefined) {
      const event = this.#event;
      event.funcId = call.funcId;
      event.groupId = call.groupId;
      event.code = error === null ? null : error.code;
      event.local = error !== null && !fromWorker;
      event.totalUs = (monotonicNowMs() - call.startedAt) * 1000;
      event.queueWaitUs = queueWaitUs;
      event.handlerUs = handlerUs;
      observer(event);
    }
    if (call.sync) {
      call.syncReply = reply;
      call.syncError = error;
    } else if (error !== null) {
      call.reject?.(error);
    } else {
      call.resolve?.(reply!);
    }
    call.resolve = null;
    call.reject = null;
    if (this.#live === 0) this.#unref();
  }

  // -------------------------------------------------------- timeouts, aborts

  #addDeadline(call: PendingCall): void {
    this.#deadlines.add(call);
    if (this.#timer === undefined || call.deadline < this.#timerAt) this.#armTimer(call.deadline);
  }

  #armTimer(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#timerBound, Math.max(0, at - monotonicNowMs()) + 1);
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    for (const call of this.#deadlines.expired(monotonicNowMs())) this.#expire(call, 'ERR_PHOENIX_TIMEOUT');
    const next = this.#deadlines.earliest();
    if (next !== Number.POSITIVE_INFINITY) this.#armTimer(next);
  }

  // Gives up on a call: if no worker has started it, it is cancelled and will
  // never run; if one has, its reply will be dropped when it comes.
  #expire(call: PendingCall, code: 'ERR_PHOENIX_TIMEOUT' | 'ERR_PHOENIX_ABORTED'): void {
    if (call.settled) return;
    const message =
      code === 'ERR_PHOENIX_TIMEOUT'
        ? `call ${call.seqId} (func ${call.funcId}) timed out`
        : `call ${call.seqId} (func ${call.funcId}) was aborted`;
    if (call.worker >= 0) this.#tryCancel(call, RequestState.Cancelled);
    this.#settle(call, null, new PhoenixError(code, message, { seqId: call.seqId, funcId: call.funcId }));
    this.#flushDirty();
  }

  // Moves a written, unstarted request from PENDING to `to` (CANCELLED or MOVED).
  // Only possible while the worker has not consumed the record: after that the
  // bytes at `frame` may belong to a newer request of ours.
  #tryCancel(call: PendingCall, to: number): boolean {
    const worker = call.worker;
    const consumed = this.#requestRings[worker]!.consumedCount();
    if (((consumed - call.msgIndex) | 0) > 0) return false;
    const stateIndex = Frames.requestStateIndex(call.frame);
    if (Atomics.compareExchange(this.#words, stateIndex, RequestState.Pending, to) !== RequestState.Pending)
      return false;
    this.#inFlight.delete(call.seqId);
    this.#count(worker, -1);
    return true;
  }

  // ------------------------------------------------------------ queue full

  #armRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(this.#retryBound, WAIT_RETRY_MS);
  }

  #onRetryTimer(): void {
    this.#retryTimer = undefined;
    this.#retryWaiting();
    this.#flushDirty();
    if (this.#waitingCount > 0) this.#armRetry();
    else if (this.#inFlight.size > 0) this.#schedulePump();
  }

  // Each group's waiting calls go out in order as far as that group has room;
  // a full normal group never holds up a VIP call, nor the reverse.
  #retryWaiting(): void {
    for (const waiting of this.#waiting) {
      if (waiting.length === 0) continue;
      try {
        for (let call = waiting.peek(); call !== undefined; call = waiting.peek()) {
          if (!call.settled && !this.#write(call, call.payload!, -1)) break;
          waiting.shift();
          this.#waitingCount--;
        }
      } catch (error) {
        // UNAVAILABLE: the group lost every worker while these calls waited.
        const failure = PhoenixError.from(error, 'ERR_PHOENIX_UNAVAILABLE');
        for (let call = waiting.shift(); call !== undefined; call = waiting.shift()) {
          this.#waitingCount--;
          this.#settle(call, null, failure);
        }
      }
    }
    if (this.#waitingCount === 0 && this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    if (this.#dirtyList.length > 0) this.#schedulePump();
  }

  // --------------------------------------------------------- pump and park

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#closed) return;
    this.#pumpScheduled = true;
    // Chained through microtasks the pump starves timers and sockets; every
    // 64th time, check how long it has been since the event loop had a turn.
    if ((++this.#microtaskPumps & 63) === 0 && performance.now() - this.#macrotaskAt > MICROTASK_SLICE_MS) {
      setImmediate(this.#pumpFromLoop);
    } else {
      queueMicrotask(this.#pumpBound);
    }
  }

  readonly #pumpFromLoop = () => {
    this.#macrotaskAt = performance.now();
    this.#pump();
  };

  #pump(): void {
    this.#pumpScheduled = false;
    if (this.#closed) return;
    if (this.#parked) {
      Atomics.store(this.#words, this.#parkedIndex, 0);
      this.#parked = false;
      this.#spin.woke(performance.now());
    }
    this.#flushDirty();
    if (this.#inFlight.size === 0) return;
    if (this.#drain() > 0) {
      this.#schedulePump();
      return;
    }
    const start = performance.now();
    const budgetUs = this.#spin.budgetAt(start);
    if (budgetUs > 0) {
      const limitMs = Math.min(budgetUs / 1000, SPIN_SLICE_MS);
      for (let polls = 1; ; polls++) {
        if (this.#drain() > 0) {
          this.#spin.succeeded((performance.now() - start) * 1000);
          this.#schedulePump();
          return;
        }
        if ((polls & 15) === 0 && performance.now() - start >= limitMs) break;
      }
      if (this.#spin.strategy === 'spin') {
        // Never park while waiting; give the event loop a turn between slices.
        this.#pumpScheduled = true;
        setImmediate(this.#pumpFromLoop);
        return;
      }
    }
    this.#park();
  }

  #park(): void {
    Atomics.store(this.#words, this.#parkedIndex, 1);
    this.#parked = true;
    this.#spin.parked(performance.now());
    // Re-check after publishing "parked" (see ringIfParked): a reply that
    // landed in between is seen here, or its producer saw the flag and rings.
    if (this.#drain() > 0) {
      Atomics.store(this.#words, this.#parkedIndex, 0);
      this.#parked = false;
      this.#schedulePump();
    }
  }

  #onDoorbell(): void {
    this.#macrotaskAt = performance.now();
    if (this.#pumpScheduled) return;
    this.#pump();
  }

  #ref(): void {
    if (!this.#refed) {
      this.#refed = true;
      this.#watcher.ref();
    }
  }

  #unref(): void {
    if (this.#refed) {
      this.#refed = false;
      this.#watcher.unref();
    }
  }

  // -------------------------------------------------------- fault handling

  /** The supervisor answered a request for a dead worker (crash recovery). */
  failCall(seqId: number, error: PhoenixError): boolean {
    const call = this.#inFlight.get(seqId);
    if (call === undefined) return false;
    this.#inFlight.delete(seqId);
    this.#count(call.worker, -1);
    this.#settle(call, null, error);
    return true;
  }

  /**
   * Gives up on a call because its worker is known dead (callSync on the
   * supervisor, whose supervision is paused while it blocks): a request not
   * yet started is cancelled so no replacement runs it later.
   */
  abandon(seqId: number, error: PhoenixError): boolean {
    const call = this.#inFlight.get(seqId);
    if (call === undefined) return false;
    if (!this.#tryCancel(call, RequestState.Cancelled)) {
      this.#inFlight.delete(seqId);
      this.#count(call.worker, -1);
    }
    this.#settle(call, null, error);
    return true;
  }

  /**
   * Worker `globalIndex` died: its unstarted requests from this caller move
   * to live siblings of its group (each by one PENDING -> MOVED swap, so a
   * request either moves or is run by the replacement, never both). With no
   * live sibling they stay and wait for the replacement. Timed-out ones are
   * cancelled instead.
   */
  workerDown(globalIndex: number): number {
    let moved = 0;
    const calls = [...this.#inFlight.values()].filter((call) => call.worker === globalIndex);
    if (calls.length === 0) return 0;
    const hasSibling = this.#pickWorker(this.#channels[globalIndex]!.groupId, globalIndex) >= 0;
    const words = this.#words;
    for (const call of calls) {
      if (call.settled) {
        this.#tryCancel(call, RequestState.Cancelled);
        continue;
      }
      if (!hasSibling) continue;
      const frame = call.frame;
      const length = Frames.requestPayloadLen(words, frame);
      const attempt = Frames.requestAttempt(words, frame);
      if (!this.#tryCancel(call, RequestState.Moved)) continue;
      const payload = this.#bytes.slice(frame + REQUEST_FRAME_BYTES, frame + REQUEST_FRAME_BYTES + length);
      call.worker = -1;
      try {
        if (!this.#write(call, payload, globalIndex)) {
          call.payload = payload;
          this.#waiting[call.groupId]!.unshift(call);
          this.#waitingCount++;
          this.#armRetry();
        } else if (attempt > 1) {
          Frames.setRequestAttempt(words, call.frame, attempt);
        }
        moved++;
      } catch (error) {
        this.#settle(call, null, PhoenixError.from(error, 'ERR_PHOENIX_UNAVAILABLE'));
      }
    }
    this.#flushDirty();
    if (this.#inFlight.size > 0) this.#schedulePump();
    return moved;
  }

  // A response ring that fails validation: every call waiting on it fails with
  // ERR_PHOENIX_BAD_RING (the supervisor resets the channel).
  #onCorruptChannel(worker: number, error: PhoenixError): void {
    this.#failChannel(worker, error.message);
    this.#config.onCorruptChannel?.(worker, error);
  }

  // Fails every call written to `worker`'s channel and stops using it.
  #failChannel(worker: number, message: string): void {
    this.#blocked[worker] = 1;
    for (const call of [...this.#inFlight.values()]) {
      if (call.worker !== worker) continue;
      this.#inFlight.delete(call.seqId);
      this.#count(worker, -1);
      this.#settle(
        call,
        null,
        new PhoenixError(
          'ERR_PHOENIX_BAD_RING',
          `the channel to worker ${worker} is corrupt (${message}); the call's outcome is unknown`,
          {
            seqId: call.seqId,
            funcId: call.funcId,
          },
        ),
      );
    }
    if (this.#dirty[worker] !== 0) {
      this.#dirty[worker] = 0;
      const at = this.#dirtyList.indexOf(worker);
      if (at >= 0) this.#dirtyList.splice(at, 1);
    }
  }

  /**
   * The supervisor is about to reformat the channel to `worker` (corrupt
   * memory): fail what is in it and stop touching it until channelReady().
   */
  resetChannel(worker: number, message: string): void {
    if (worker < 0 || worker >= this.#perWorker.length) return;
    this.#failChannel(worker, message);
  }

  /** The channel to `worker` was freshly formatted: take it up again. */
  channelReady(worker: number): void {
    if (worker < 0 || worker >= this.#perWorker.length) return;
    this.#requestRings[worker]!.resync();
    this.#responseRings[worker]!.resync();
    this.#blocked[worker] = 0;
    if (this.#waitingCount > 0) {
      this.#retryWaiting();
      this.#flushDirty();
    }
  }

  /** Fails every call (server gone, disconnect) and stops the engine. */
  close(error: PhoenixError): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiting of this.#waiting)
      for (let call = waiting.shift(); call !== undefined; call = waiting.shift()) this.#settle(call, null, error);
    this.#waitingCount = 0;
    for (const call of this.#inFlight.values()) this.#settle(call, null, error);
    this.#inFlight.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#timer = undefined;
    this.#retryTimer = undefined;
    this.#watcher.close();
    Atomics.store(this.#words, this.#parkedIndex, 0);
  }

  get closed(): boolean {
    return this.#closed;
  }
}
