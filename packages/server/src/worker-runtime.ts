import { SpinThenPark, type Waiter } from '@phoenix-ipc/client/internal';
import { FdWatcher } from '@phoenix-ipc/native-shm';
import {
  Frames,
  PhoenixError,
  type PhoenixShmLayout,
  RESPONSE_FRAME_BYTES,
  RequestState,
  type WaitStrategy,
  type WorkerChannel,
} from '@phoenix-ipc/shm-layout';
import { CopyingPublisher } from './copying-publisher.js';
import type { HandlerRegistry } from './handler-registry.js';
import type { ReplyPublisher } from './reply-publisher.js';
import { RequestExecutor } from './request-executor.js';
import { ReleaseInOrder, ReleaseUpToHold, type RequestRelease, type ServedSlot, ServedSlots } from './served-slots.js';
import { DEFAULT_REPLY_BATCH } from './server-options.js';
import { UnreadReplyWait } from './unread-reply-wait.js';
import { ZeroCopyPublisher } from './zero-copy-publisher.js';

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
  /** Called for every request answered: code null on success; times in µs; the caller's slot. */
  onRequestDone?: (funcId: number, code: string | null, times: Float64Array, slotIndex: number) => void;
  /** Nothing is queued: the loop is about to park (or, 'spin', to look again after the event loop's turn). */
  onIdle?: () => void;
  /** Concurrency 1: replies published per tail store at most (the replyBatch option; default DEFAULT_REPLY_BATCH). */
  replyBatch?: number;
}

/** Requests served from one slot before the loop looks at the next one. */
const BATCH_PER_SLOT = 64;
const SLICE_MS = 2;
const SLICE_US = SLICE_MS * 1000;

/**
 * The worker's serving loop, a coordinator over parts with one job each:
 *
 *   ServedSlots      which caller slots to serve (attach, detach, ack)
 *   RequestExecutor  a request's life on a lane: claim, handler, answer
 *   ReplyPublisher   how replies reach the response ring (zero copy or copying)
 *   RequestRelease   when request-ring space goes back (matches the publisher)
 *
 * The loop round-robins over the served slots, a batch per slot, for a
 * slice of at most SLICE_MS before it lets the event loop in. With nothing
 * to do it waits like a caller does (the Waiter, client/waiter.ts): a spin
 * for the learned budget, then PARKED and a sleep on the eventfd through a
 * libuv watcher (no thread, no CPU, no timer: the supervisor rings a
 * worker whose doorbell a broken peer silenced; doorbell-rescue.ts).
 */
export class WorkerRuntime {
  readonly #config: WorkerRuntimeConfig;
  readonly #words: Int32Array;
  readonly #slots: ServedSlots;
  readonly #release: RequestRelease;
  readonly #publisher: ReplyPublisher;
  readonly #executor: RequestExecutor;
  readonly #waiter: Waiter;
  readonly #unreadWait: UnreadReplyWait;
  readonly #watcher: FdWatcher;
  readonly #runBound = () => this.#run();
  readonly #hasWorkBound = () => this.#hasWork();
  #running = false;
  #runScheduled = false;
  #stopping = false;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];
  #roundRobin = 0;

  constructor(config: WorkerRuntimeConfig) {
    const { layout, channel } = config;
    this.#config = config;
    this.#words = layout.views.words;
    this.#slots = new ServedSlots(layout, channel, config.slotDoorbellFds, config.onCorruptSlot);
    // Chosen once: one lane writes its reply in place; lanes copy theirs in.
    const zeroCopy = layout.options.concurrency === 1;
    this.#release = zeroCopy ? new ReleaseUpToHold() : new ReleaseInOrder();
    // The room comes from the geometry, not from a ring: attaching one here would read a header a broken peer
    // may have written over, and throw out of start() before ServedSlots can report the channel corrupt.
    const ring = channel.group === 'normal' ? layout.geometry.normalRing : layout.geometry.vipRing;
    const publisherConfig = {
      layout,
      replyRoom: ring.maxMessageSize - RESPONSE_FRAME_BYTES,
      slots: this.#slots,
      runLoop: this.#runBound,
      replyBatch: config.replyBatch ?? DEFAULT_REPLY_BATCH,
    };
    this.#publisher = zeroCopy ? new ZeroCopyPublisher(publisherConfig) : new CopyingPublisher(publisherConfig);
    this.#executor = new RequestExecutor({
      layout,
      channel,
      handlers: config.handlers,
      publisher: this.#publisher,
      release: this.#release,
      onProcessed: config.onProcessed,
      onRequestDone: config.onRequestDone,
      onAsyncSettled: (slot, failure) => this.#afterAsync(slot, failure),
    });
    this.#waiter = new SpinThenPark(config.waitStrategy, this.#words, channel.parkedIndex);
    this.#unreadWait = new UnreadReplyWait(config.waitStrategy);
    this.#watcher = new FdWatcher(config.doorbellFd, () => this.#onDoorbell(), { drain: true });
  }

  /** Starts serving (the watcher keeps the process alive). */
  start(): void {
    this.#watcher.start();
    this.#schedule();
  }

  get processed(): number {
    return this.#executor.processed;
  }

  /**
   * Stops taking requests; resolves once the handlers in progress have
   * finished and their replies are published. Queued requests stay in the
   * rings for whoever serves them next.
   */
  stop(): Promise<void> {
    this.#stopping = true;
    if (this.#executor.idle) return Promise.resolve(this.#finish());
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #finish(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const slot of this.#slots.active) this.#release.release(slot);
    this.#watcher.close();
    this.#publisher.close();
    this.#waiter.wake();
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #onDoorbell(): void {
    // A caller rang; its compareExchange already cleared PARKED. wake()
    // clears it anyway and teaches the spin budget how long we slept.
    this.#waiter.wake();
    this.#unreadWait.woke(performance.now());
    this.#run();
  }

  #schedule(): void {
    if (this.#runScheduled || this.#stopped) return;
    this.#runScheduled = true;
    setImmediate(this.#runBound);
  }

  // --------------------------------------------------------------- loop

  #run(): void {
    this.#runScheduled = false;
    if (this.#running || this.#stopped) return;
    this.#running = true;
    const executor = this.#executor;
    executor.forgetClock();
    const sliceStart = performance.now();
    try {
      for (;;) {
        if (this.#stopping) break;
        this.#slots.refresh();
        let progress = 0;
        const active = this.#slots.active;
        const count = active.length;
        for (let i = 0; i < count && executor.freeLanes > 0; i++) {
          const slot = active[(this.#roundRobin + i) % count];
          if (slot !== undefined) progress += this.#serveSlot(slot);
        }
        this.#roundRobin = (this.#roundRobin + 1) % Math.max(1, count);
        if (executor.freeLanes === 0) break; // async handlers in progress call back into #run
        if (progress > 0) {
          if (performance.now() - sliceStart > SLICE_MS) {
            this.#schedule(); // let timers, IPC and async work in
            break;
          }
          continue;
        }
        // Nothing to do: spin for the learned budget, then park.
        executor.forgetClock();
        if (this.#waiter.spin(this.#hasWorkBound, SLICE_US)) continue;
        if (this.#waiter.neverParks) {
          this.#config.onIdle?.();
          this.#schedule(); // 'spin': look again after the event loop's turn
          break;
        }
        // A caller that has not read our reply yet is busy and will be back (unread-reply-wait.ts). Not while a
        // handler runs: its completion needs the event loop.
        const awaySlot = this.#unreadWait.waits && executor.idle ? this.#slotWithReplyUnread() : null;
        if (awaySlot !== null && this.#spinOn(awaySlot)) continue;
        this.#config.onIdle?.();
        if (this.#waiter.park(this.#hasWorkBound)) {
          if (awaySlot !== null) this.#unreadWait.parked();
          break; // the doorbell's watcher calls #onDoorbell
        }
      }
    } finally {
      this.#running = false;
    }
    if (this.#stopping && executor.idle) this.#finish();
  }

  // Spins on for what UnreadReplyWait allows this absence of a caller; true if work showed up.
  #spinOn(slot: ServedSlot): boolean {
    const served = slot.responses.producedCount;
    const budgetUs = this.#unreadWait.budgetFor(slot.index, served, performance.now());
    if (budgetUs <= 0 || !this.#waiter.spinOn(this.#hasWorkBound, budgetUs)) return false;
    this.#unreadWait.succeeded(performance.now());
    return true;
  }

  /** A caller we serve that has replies of ours it has not read yet (the first found), or null. */
  #slotWithReplyUnread(): ServedSlot | null {
    const active = this.#slots.active;
    for (let i = 0; i < active.length; i++) {
      const slot = active[i]!;
      // Two index loads; garbage in them reads as unread at worst, which costs one spin of the budget.
      if (!slot.closing && !slot.responses.empty()) return slot;
    }
    return null;
  }

  #hasWork(): boolean {
    if (this.#slots.changed) return true;
    const active = this.#slots.active;
    for (let i = 0; i < active.length; i++) {
      const slot = active[i]!;
      if (slot.closing) continue;
      try {
        // Replies that cannot go out are no work: spinning on them would hold
        // the CPU the caller needs to read them (on one CPU, or when the
        // scheduler queued the caller behind us). Its read rings us if we park.
        if (!this.#publisher.hasReplyRoom(slot)) continue;
        if (slot.backlog.length > 0) return true; // room for the replies waiting
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
    if (slot.backlog.length > 0 && !this.#publisher.flush(slot)) return 0;
    const ring = slot.requests;
    const words = this.#words;
    const executor = this.#executor;
    let handled = 0;
    try {
      while (handled < BATCH_PER_SLOT && executor.freeLanes > 0 && !this.#stopping) {
        const frame = ring.peekRecord();
        if (frame < 0) break;
        const stateIndex = Frames.requestStateIndex(frame);
        // A look only: the executor's compareExchange is the claim, and it
        // settles a race with the caller's compareExchange to CANCELLED/MOVED.
        // A plain read, not Atomics.load (a builtin call, not inlined: ~6 ns a
        // request): the caller's PENDING was published to us by the tail the
        // ring's peek acquired, so this read sees it or a later state, never
        // one of an earlier use of the frame.
        if (words[stateIndex] !== RequestState.Pending) {
          // Cancelled, moved, or finished by a predecessor: nobody runs it.
          ring.take();
          this.#release.taken(slot, true);
          handled++;
          continue;
        }
        if (!executor.begin(slot, frame, stateIndex, ring.peekedLength)) break;
        handled++;
      }
    } catch (error) {
      this.#publisher.publishStaged(slot); // the replies of requests that ran are sound
      this.#corrupt(slot, PhoenixError.from(error, 'ERR_PHOENIX_BAD_RING'));
      return handled;
    }
    // Replies go out before the requests' space: recovery finds a staged
    // reply's request (DONE) still in the ring.
    this.#publisher.publishStaged(slot);
    this.#release.release(slot);
    return handled;
  }

  // An async handler's reply is out: release its ring space, ack a closing
  // slot, and serve on (or finish stopping).
  #afterAsync(slot: ServedSlot, failure: PhoenixError | null): void {
    if (failure !== null) this.#corrupt(slot, failure);
    slot.hold = null;
    this.#publisher.publishStaged(slot);
    if (this.#slots.serves(slot)) this.#release.release(slot);
    if (slot.closing) this.#slots.lookAgain();
    if (this.#stopping) {
      if (this.#executor.idle) this.#finish();
    } else {
      this.#run();
    }
  }

  // A request ring we cannot trust: stop serving the slot and report it.
  #corrupt(slot: ServedSlot, error: PhoenixError): void {
    this.#slots.detach(slot);
    this.#config.onCorruptSlot?.(slot.index, error);
  }
}
