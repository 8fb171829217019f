// Over 400 lines on purpose: this file is only the coordinator of the caller
// side. Each part with one job lives in its own module (in-flight-table,
// request-writer, reply-reader, caller-pump, waiting-calls, failover,
// deadline-timer, waiter); what remains here is the order in which they run
// for submit, settle, callSync and the supervisor's fault calls, which reads
// best in one place.
import { drainEventFd, pollSync } from '@phoenix-ipc/native-shm';
import {
  type BurstReadings,
  GROUP_NORMAL,
  GROUP_VIP,
  leastLoadedWorker,
  monotonicNowMs,
  NO_WORKER,
  PhoenixError,
  type PhoenixShmLayout,
  Priority,
  RequestState,
  WAIT_FOR_WORKER,
  type WaitStrategy,
  WorkerState,
} from '@phoenix-ipc/shm-layout';
import { AbortWatch } from './abort-watch.js';
import { CallEventReporter, type CallObserver } from './call-event.js';
import { payloadLength, type RequestBytes, type ResolvedCall } from './call-options.js';
import { CallerPump, type PumpHost } from './caller-pump.js';
import { CpuYield } from './cpu-yield.js';
import { DeadlineTimer } from './deadline-timer.js';
import { type FailoverHost, failChannel, moveOffDeadWorker } from './failover.js';
import { InFlightTable } from './in-flight-table.js';
import { PayloadCopies } from './payload-copies.js';
import { Hold, PendingCall, PendingCallPool } from './pending-call.js';
import { type ErrorMapper, type Reply, type ReplyDecoder, rejectionOf } from './reply.js';
import type { ReplyHandler } from './reply-deliveries.js';
import { ReplyReader, type ReplySink } from './reply-reader.js';
import { RequestWriter } from './request-writer.js';
import { SpinThenPark, type Waiter } from './waiter.js';
import { WaitingCalls } from './waiting-calls.js';

export type { CallEvent, CallObserver } from './call-event.js';

function unpooledCall(): PendingCall {
  const call = new PendingCall();
  call.pooled = false;
  call.holds = Hold.Live;
  return call;
}

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
  /**
   * Whether a long spin offers its CPU to other threads (sched_yield; the
   * default). False for the supervisor's own caller: see supervisor.ts.
   */
  yieldCpu?: boolean;
  /** sched_yield(2), replaceable for tests (default: native-shm's yieldProcessor). */
  yieldProcessor?: () => void;
  /** A response ring failed validation (corrupt memory); its calls have been failed with ERR_PHOENIX_BAD_RING. */
  onCorruptChannel?: (worker: number, error: PhoenixError) => void;
}

const WAIT_RETRY_MS = 1;
/** callSync spins at most this long before it blocks in poll(2). */
const SYNC_SPIN_US = 1000;

/**
 * The caller side of PhoenixIPC, shared by IpcClient (a client process) and
 * the supervisor's own calls: it coordinates
 *  - dispatch: the least-loaded worker of the call's group (dispatch.ts);
 *  - RequestWriter: the request in place in that worker's ring, published
 *    per burst (one tail store, at most one doorbell per ring), or at once
 *    when the caller has no other call in flight;
 *  - InFlightTable: every request counted until its fate is known;
 *  - ReplyReader: replies matched to calls and copied out;
 *  - WaitingCalls: calls waiting for queue space, per group;
 *  - deadlines and aborts; failover when a worker dies;
 *  - CallerPump: the turns that publish, read and wait for async calls
 *    (the Waiter: spin for a learned budget, then park on the doorbell).
 */
export class CallerEngine implements ReplySink {
  readonly layout: PhoenixShmLayout;
  readonly slot: number;
  /** Settled calls nothing refers to any more, reused by the next calls (no allocation per call). */
  readonly #pool = new PendingCallPool();
  readonly #table: InFlightTable;
  readonly #writer: RequestWriter;
  readonly #reader: ReplyReader;
  readonly #waiting = new WaitingCalls(this.#pool);
  readonly #deadlines = new DeadlineTimer((call) => this.#expire(call, 'ERR_PHOENIX_TIMEOUT'), this.#pool);
  readonly #aborts = new AbortWatch<PendingCall>((call) => this.#expire(call, 'ERR_PHOENIX_ABORTED'));
  readonly #reporter = new CallEventReporter();
  /** Channels being reformatted after corruption: not used until channelReady(). */
  readonly #closedChannels: Uint8Array;
  readonly #waiter: Waiter;
  /** Publishes, reads and waits for async calls; watches the doorbell (caller-pump.ts). */
  readonly #pump: CallerPump;
  readonly #failoverHost: FailoverHost;
  readonly #config: CallerEngineConfig;
  readonly #maxPayload: number;
  readonly #retryBound = () => this.#onRetryTimer();
  readonly #drainBound = () => this.#drain() > 0;
  /** Copies of waiting calls' payloads, reused once their request is written. */
  readonly #copies = new PayloadCopies();
  readonly #retryWrite = (call: PendingCall) => {
    const copy = call.payload!;
    if (!this.#dispatch(call, copy, -1)) return false;
    if (copy instanceof Uint8Array) this.#copies.give(copy);
    return true;
  };
  readonly #retryFail = (call: PendingCall, error: PhoenixError) => this.#fail(call, error);
  /** The dispatch rule's options, one object rewritten per pick (dispatch.ts keeps no reference). */
  readonly #pickOptions: {
    exclude: number;
    closed: Uint8Array;
    allowNotRunning: boolean;
    unpublished: Int32Array;
    readings: BurstReadings | undefined;
  };
  /**
   * The promise executor of every call (no closure per call) puts the
   * resolvers straight into the call being made: each store of a fresh
   * function into a long-lived object takes the write barrier's slow path,
   * and a hand-over through fields of the engine took four of them.
   */
  #resolving: PendingCall | null = null;
  readonly #captureResolvers = (resolve: (reply: Reply) => void, reject: (error: unknown) => void) => {
    const call = this.#resolving!;
    call.resolve = resolve;
    call.reject = reject;
  };
  #retryTimer: NodeJS.Timeout | undefined;
  #live = 0;
  #closed = false;
  #observer: CallObserver | undefined;

  constructor(config: CallerEngineConfig) {
    this.#config = config;
    const layout = config.layout;
    this.layout = layout;
    this.slot = config.slot;
    this.#maxPayload = layout.options.maxPayloadBytes;
    this.#closedChannels = new Uint8Array(layout.channels.length);
    this.#table = new InFlightTable(layout, config.slot, this.#pool);
    this.#pickOptions = {
      exclude: -1,
      closed: this.#closedChannels,
      allowNotRunning: true,
      unpublished: this.#table.unpublished,
      readings: this.#table.readings,
    };
    this.#writer = new RequestWriter(layout, config.slot, config.workerDoorbellFds, this.#table, (call) =>
      this.#deadlines.add(call),
    );
    this.#reader = new ReplyReader(layout, config.slot, this.#table, this.#closedChannels, this);
    this.#waiter = new SpinThenPark(
      config.waitStrategy,
      layout.views.words,
      layout.getSlot(config.slot).parkedIndex,
      undefined,
      config.yieldCpu === false ? null : new CpuYield(config.yieldProcessor),
      config.yieldProcessor,
    );
    this.#pump = new CallerPump(this.#pumpHost(), this.#waiter, config.doorbellFd);
    this.#observer = config.observer;
    this.#failoverHost = {
      table: this.#table,
      writer: this.#writer,
      waiting: this.#waiting,
      views: layout.views,
      hasRunningSibling: (worker) => this.#pickWorker(layout.channels[worker]!.groupId, worker) >= 0,
      rewrite: (call, payload, exclude) => this.#dispatch(call, payload, exclude),
      settle: (call, error) => this.#fail(call, error),
    };
  }

  // What the pump asks of this engine each turn.
  #pumpHost(): PumpHost {
    return {
      publish: () => {
        this.#writer.flush();
        return this.#writer.takeRangParked();
      },
      inFlight: () => this.#table.size,
      drain: () => this.#drain(),
      prepareForWait: () => this.#reader.prepareForWait(),
      liveCalls: () => this.#live,
      idle: () => {
        this.#deadlines.stopIfNoneLeft();
        this.#aborts.releaseIdle();
      },
      closed: () => this.#closed,
    };
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
    return this.#table.size;
  }

  // ------------------------------------------------------------------ submit

  /** Sends a call; the promise settles with its Reply or a PhoenixError. Validation is the caller's. */
  call(
    funcId: number,
    payload: RequestBytes,
    options: ResolvedCall,
    target: Uint8Array | null = null,
    decode: ReplyDecoder | null = null,
    mapError: ErrorMapper | null = null,
  ): Promise<Reply> {
    let call: PendingCall;
    try {
      call = this.#submit(funcId, payload, options, false);
      call.target = target;
      call.decode = decode;
      call.mapError = mapError;
    } catch (error) {
      return Promise.reject(rejectionOf(mapError, error as PhoenixError));
    }
    // The executor runs synchronously: the call cannot have settled before its resolvers are in place.
    this.#resolving = call;
    const promise = new Promise<Reply>(this.#captureResolvers);
    this.#resolving = null;
    return promise;
  }

  /**
   * Sends a call whose outcome goes to `handler` (sendInto): no promise,
   * and the reply is copied into `target`. Every failure, from submission
   * on, reaches handler.onError, never before this returns.
   */
  send(funcId: number, payload: RequestBytes, options: ResolvedCall, target: Uint8Array, handler: ReplyHandler): void {
    let call: PendingCall;
    try {
      call = this.#submit(funcId, payload, options, false);
    } catch (error) {
      this.#pump.deliver(handler, null, error as PhoenixError);
      return;
    }
    // Nothing settles a call inside #submit: the handler is in place before any outcome.
    call.target = target;
    call.handler = handler;
  }

  /**
   * Blocks the thread until the reply: a brief spin, then poll(2) on the
   * doorbell (and the config's extra fds). Replies to this caller's other
   * calls that arrive meanwhile are handled too (their promises settle later).
   */
  callSync(funcId: number, payload: RequestBytes, options: ResolvedCall): Reply {
    const call = this.#submit(funcId, payload, options, true);
    this.#writer.flush();
    const waiter = this.#waiter;
    const replyOrSettled = () => this.#drain() > 0 || call.settled;
    for (;;) {
      this.#drain();
      if (this.#waiting.count > 0) {
        this.#retryWaiting();
        this.#writer.flush();
      }
      if (call.settled) return this.#syncResult(call);
      const now = monotonicNowMs();
      if (call.deadline !== 0 && now >= call.deadline) {
        this.#expire(call, 'ERR_PHOENIX_TIMEOUT');
        return this.#syncResult(call);
      }
      if (this.#writer.takeRangParked()) waiter.yieldToWokenPeer();
      this.#reader.prepareForWait();
      if (waiter.spin(this.#drainBound, SYNC_SPIN_US)) continue;
      if (!waiter.park(replyOrSettled)) continue;
      const fds = [this.#config.doorbellFd, ...(this.#config.syncWaitFds?.(call) ?? [])];
      const remaining = call.deadline === 0 ? 1000 : Math.max(0, Math.min(1000, call.deadline - now));
      const ready = pollSync(fds, remaining);
      waiter.wake();
      if (ready === 0) drainEventFd(this.#config.doorbellFd);
      else if (ready > 0) this.#config.onSyncWake?.(ready - 1, call);
    }
  }

  #syncResult(call: PendingCall): Reply {
    if (call.syncError !== null) throw call.syncError;
    return call.syncReply!;
  }

  #submit(funcId: number, payload: RequestBytes, options: ResolvedCall, sync: boolean): PendingCall {
    if (this.#closed) throw new PhoenixError('ERR_PHOENIX_NOT_CONNECTED', 'the caller is closed');
    const length = payloadLength(payload);
    if (length > this.#maxPayload) {
      throw new PhoenixError(
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `request payload of ${length} bytes exceeds maxPayloadBytes ${this.#maxPayload}`,
        { funcId },
      );
    }
    const signal = options.signal;
    if (signal?.aborted)
      throw new PhoenixError('ERR_PHOENIX_ABORTED', 'the call was aborted before it was sent', { funcId });
    const layout = this.layout;
    const groupId = options.priority === Priority.High && layout.vipChannels.length > 0 ? GROUP_VIP : GROUP_NORMAL;
    // callSync reads its result after settling: its call is never reused.
    const call = sync ? unpooledCall() : this.#pool.acquire();
    call.funcId = funcId;
    call.groupId = groupId;
    call.sync = sync;
    call.onQueueFull = options.onQueueFull;
    call.seqId = layout.nextSeqId();
    // Ids come from a shared counter a broken peer could rewind: never reuse one still in flight.
    while (this.#table.has(call.seqId)) call.seqId = layout.nextSeqId();
    if (this.#observer !== undefined) call.startedAt = monotonicNowMs();
    // A written request gets its deadline when the writer publishes it (one clock read per burst).
    call.timeoutMs = options.timeoutMs;
    // FIFO within the group: while earlier calls to it wait for space, later ones queue behind them.
    const written = !this.#waiting.hasWaiting(groupId) && this.#dispatch(call, payload, -1);
    if (!written) {
      if (call.onQueueFull === 'reject') {
        throw new PhoenixError('ERR_PHOENIX_QUEUE_FULL', "the target worker's queue is full", {
          funcId,
          seqId: call.seqId,
        });
      }
      // Its timeout runs while it waits for space.
      if (call.timeoutMs > 0) {
        if (call.startedAt === 0) call.startedAt = monotonicNowMs();
        call.deadline = call.startedAt + call.timeoutMs;
      }
      // A copy: the caller may reuse its payload's memory as soon as the call returns (the typed
      // services encode every small request into one scratch buffer).
      this.#waiting.push(call, this.#copies.copy(payload));
      this.#armRetry();
    }
    // From here on the call is live: an error above leaves it to the GC (it is in no table).
    this.#live++;
    if (call.deadline !== 0) this.#deadlines.add(call);
    if (signal !== undefined) {
      call.signal = signal;
      this.#aborts.add(signal, call);
    }
    if (!sync) {
      this.#pump.ref();
      // A call that finds no other in flight goes out now, as Nagle's rule
      // sends a segment when nothing is unacknowledged: the worker starts on
      // it while this caller still returns and awaits the promise. Measured,
      // a 16 B ping-pong's p50 fell ~0.14 µs (1.34-1.48 to 1.23-1.26 µs).
      // Calls made while others are in flight join the burst the pump
      // publishes, so a burst from idle costs one tail store more, no
      // doorbell more (the first flush already cleared the worker's PARKED).
      // Not a call with a signal: one aborted in the tick it was made must never run (it is cancelled before it leaves).
      if (written && signal === undefined && this.#table.size === 1 && !this.#pump.looping) this.#writer.flush();
      this.#pump.schedule();
    }
    return call;
  }

  // Writes the request to the least-loaded worker of its group (never
  // `exclude`, the dead worker failover moves it from). False when that worker
  // has no room, or the only workers that could take it are closed to us for
  // now; throws UNAVAILABLE when no worker of the group can ever answer.
  #dispatch(call: PendingCall, payload: RequestBytes, exclude: number): boolean {
    for (;;) {
      const worker = this.#pickWorker(call.groupId, exclude);
      if (worker === WAIT_FOR_WORKER) return false;
      if (worker === NO_WORKER) {
        throw new PhoenixError(
          'ERR_PHOENIX_UNAVAILABLE',
          `no ${call.groupId === GROUP_VIP ? 'VIP' : 'normal'} worker can serve the call (all down or stopped)`,
          { funcId: call.funcId, seqId: call.seqId },
        );
      }
      try {
        return this.#writer.write(call, payload, worker);
      } catch (error) {
        if (!PhoenixError.isInstance(error) || error.code !== 'ERR_PHOENIX_BAD_RING') throw error;
        // The request ring failed validation as room was claimed (a broken peer wrote over its consumer
        // index): nothing of this call is in it. The channel is corrupt as surely as when its response ring
        // fails: close it and report it, so that the supervisor resets it, and try the next worker (or wait
        // for the reset). Each turn closes one more channel, so the loop ends.
        this.corrupt(worker, error);
      }
    }
  }

  // dispatch.ts's least-loaded rule, without the channels closed to this
  // caller; failover (exclude >= 0) moves requests to running siblings only.
  #pickWorker(groupId: number, exclude: number): number {
    const group = groupId === GROUP_VIP ? this.layout.vipChannels : this.layout.normalChannels;
    // A group of one running worker has no load to compare: the rule below would pick it, and a 1 x 1
    // pipeline pays that rule's setup on every call.
    if (group.length === 1 && exclude < 0) {
      const channel = group[0]!;
      const index = channel.globalIndex;
      if (this.#closedChannels[index] === 0 && this.#table.readings.stateOf(channel) === WorkerState.Running)
        return index;
    }
    const options = this.#pickOptions;
    options.exclude = exclude;
    options.allowNotRunning = exclude < 0;
    // Failover reads the words afresh: it runs once per dead worker, not per call.
    options.readings = exclude < 0 ? this.#table.readings : undefined;
    const worker = leastLoadedWorker(group, options);
    if (worker >= 0 || options.readings === undefined) return worker;
    // No worker to take it: never say so from a burst's readings, which nothing renews while no call goes out
    // (a group that came back up since would look down for good).
    options.readings.nextBurst();
    return leastLoadedWorker(group, options);
  }

  // ------------------------------------------------------------------ replies

  /** Reads the available replies (at most half the window per worker: ReplyReader.drain); returns how many. */
  #drain(): number {
    const read = this.#reader.drain();
    if (read > 0 && this.#waiting.count > 0) this.#retryWaiting();
    return read;
  }

  get observed(): boolean {
    return this.#observer !== undefined;
  }

  /** ReplySink: a call's outcome is known. */
  settle(
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
    if (call.deadline !== 0) this.#deadlines.settled(call);
    if (call.signal !== undefined) {
      this.#aborts.remove(call.signal, call);
      call.signal = undefined;
    }
    const observer = this.#observer;
    if (observer !== undefined)
      this.#reporter.report(observer, call, error === null ? null : error.code, fromWorker, queueWaitUs, handlerUs);
    if (call.sync) {
      call.syncReply = reply;
      call.syncError = error;
    } else if (call.handler !== null) {
      this.#pump.deliver(call.handler, reply, error);
    } else if (error !== null) {
      this.#pump.promiseSettled();
      call.reject?.(rejectionOf(call.mapError, error));
    } else {
      this.#pump.promiseSettled();
      call.resolve?.(reply!);
    }
    call.resolve = null;
    call.reject = null;
    if (this.#live === 0) this.#pump.unrefWhenIdle();
    // Last: the call may go back to the pool here (if no table, queue or timer holds it).
    this.#pool.drop(call, Hold.Live);
  }

  /** ReplySink: replies read while calls to `worker` are in flight; it may sleep waiting for that room. */
  roomMade(worker: number): void {
    this.#writer.wake(worker);
  }

  /** ReplySink: a response ring failed validation; its calls fail ERR_PHOENIX_BAD_RING (the supervisor resets it). */
  corrupt(worker: number, error: PhoenixError): void {
    this.#closeChannel(worker, error.message);
    this.#config.onCorruptChannel?.(worker, error);
  }

  #fail(call: PendingCall, error: PhoenixError): void {
    this.settle(call, null, error);
  }

  // -------------------------------------------------------- timeouts, aborts

  // Gives up on a call: if no worker has started it, it is cancelled and will
  // never run; if one has, its reply will be dropped when it comes.
  #expire(call: PendingCall, code: 'ERR_PHOENIX_TIMEOUT' | 'ERR_PHOENIX_ABORTED'): void {
    if (call.settled) return;
    const message =
      code === 'ERR_PHOENIX_TIMEOUT'
        ? `call ${call.seqId} (func ${call.funcId}) timed out`
        : `call ${call.seqId} (func ${call.funcId}) was aborted`;
    if (call.worker >= 0) this.#writer.cancel(call, RequestState.Cancelled);
    this.#fail(call, new PhoenixError(code, message, { seqId: call.seqId, funcId: call.funcId }));
    this.#writer.flush();
  }

  // ------------------------------------------------------------ queue full

  #armRetry(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(this.#retryBound, WAIT_RETRY_MS);
  }

  #onRetryTimer(): void {
    this.#retryTimer = undefined;
    this.#retryWaiting();
    this.#writer.flush();
    if (this.#waiting.count > 0) this.#armRetry();
    else if (this.#table.size > 0) this.#pump.schedule();
  }

  #retryWaiting(): void {
    this.#waiting.retry(this.#retryWrite, this.#retryFail);
    if (this.#waiting.count === 0 && this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    if (this.#writer.staged) this.#pump.schedule();
  }

  // -------------------------------------------------------- fault handling

  /** The supervisor answered a request for a dead worker (crash recovery). */
  failCall(seqId: number, error: PhoenixError): boolean {
    const call = this.#table.get(seqId);
    if (call === undefined) return false;
    this.#table.remove(call);
    this.#fail(call, error);
    return true;
  }

  /**
   * Gives up on a call because its worker is known dead (callSync on the
   * supervisor, whose supervision is paused while it blocks): a request not
   * yet started is cancelled so no replacement runs it later.
   */
  abandon(seqId: number, error: PhoenixError): boolean {
    const call = this.#table.get(seqId);
    if (call === undefined) return false;
    if (!this.#writer.cancel(call, RequestState.Cancelled)) this.#table.remove(call);
    this.#fail(call, error);
    return true;
  }

  /** Worker `globalIndex` died: its unstarted requests move to running siblings (failover.ts). */
  workerDown(globalIndex: number): number {
    const moved = moveOffDeadWorker(this.#failoverHost, globalIndex);
    if (this.#waiting.count > 0) this.#armRetry();
    this.#writer.flush();
    if (this.#table.size > 0) this.#pump.schedule();
    return moved;
  }

  // Fails every call written to `worker`'s channel and stops using it until channelReady().
  #closeChannel(worker: number, message: string): void {
    this.#closedChannels[worker] = 1;
    failChannel(this.#failoverHost, worker, message);
  }

  /**
   * The supervisor is about to reformat the channel to `worker` (corrupt
   * memory): fail what is in it and stop touching it until channelReady().
   */
  resetChannel(worker: number, message: string): void {
    if (worker < 0 || worker >= this.#closedChannels.length) return;
    this.#closeChannel(worker, message);
  }

  /** The channel to `worker` was freshly formatted: take it up again. */
  channelReady(worker: number): void {
    if (worker < 0 || worker >= this.#closedChannels.length) return;
    this.#writer.resync(worker);
    this.#reader.ring(worker).resync();
    this.#closedChannels[worker] = 0;
    if (this.#waiting.count > 0) {
      this.#retryWaiting();
      this.#writer.flush();
    }
  }

  /** Fails every call (server gone, disconnect) and stops the engine. */
  close(error: PhoenixError): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of this.#waiting.takeAll()) this.#fail(call, error);
    for (const call of this.#table.values()) this.#fail(call, error);
    this.#table.clear();
    this.#deadlines.stop();
    this.#aborts.releaseAll();
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#pump.close();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
