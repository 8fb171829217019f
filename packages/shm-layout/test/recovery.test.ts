/**
 * Crash recovery, simulated in one buffer: a "caller" instance queues
 * requests, a "worker" instance (attached separately, as a worker process
 * would) starts one and stops dead, and the supervisor's instance scans and
 * recovers. No process is killed: a crash is an instance that stops calling.
 */
import { describe, expect, it } from 'vitest';
import {
  Frames,
  type GroupName,
  type LayoutOptions,
  PhoenixShmLayout,
  RESPONSE_FRAME_BYTES,
  RequestState,
  SlotState,
  type WorkerChannel,
} from '../src/index.js';
import { makeLayout, type QueuedRequest, queueRequests, readQueue, SMALL } from './helpers.js';

const { Pending, Taken, Cancelled, Moved, Done, Failed } = RequestState;

/** A worker process's view: its own layout instance and ring cursors. */
class SimulatedWorker {
  readonly layout: PhoenixShmLayout;
  readonly channel: WorkerChannel;

  constructor(buffer: SharedArrayBuffer, group: GroupName, index: number) {
    this.layout = PhoenixShmLayout.attach(buffer);
    this.channel = this.layout.getChannel(group, index);
  }

  get words(): Int32Array {
    return this.layout.views.words;
  }

  /**
   * Starts the request at the head of `slot` as a worker does: monitor first
   * (naming slot, ring position, seq id), then the PENDING -> TAKEN CAS
   * (unless `take` is false: a crash between the two). Returns its frame.
   */
  start(slot: number, { take = true, lane = 0 }: { take?: boolean; lane?: number } = {}): number {
    const ring = this.channel.requestRing(slot);
    const frame = ring.peekRecord();
    if (frame < 0) throw new Error(`slot ${slot} has no request`);
    this.channel.monitors[lane]!.beginTransaction(
      Frames.requestSeqId(this.words, frame),
      this.channel.groupId,
      this.channel.index,
      slot,
      ring.readPositionCount,
      Frames.requestFuncId(this.words, frame),
      Frames.requestAttempt(this.words, frame),
    );
    if (take)
      expect(Atomics.compareExchange(this.words, Frames.requestStateIndex(frame), Pending, Taken)).toBe(Pending);
    return frame;
  }

  /** Publishes the reply of a started request: TAKEN -> DONE (the monitor still says PROCESSING). */
  publish(frame: number): void {
    expect(Atomics.compareExchange(this.words, Frames.requestStateIndex(frame), Taken, Done)).toBe(Taken);
  }

  /**
   * Runs the head request and stages its reply without publishing it (a
   * worker batching its replies, replyBatch): reply written and staged,
   * request DONE, transaction ended, request taken.
   */
  stageReply(slot: number): void {
    const frame = this.start(slot);
    const seqId = Frames.requestSeqId(this.words, frame);
    const responses = this.channel.responseRing(slot);
    const reply = responses.reserve(RESPONSE_FRAME_BYTES);
    Frames.writeResponseFrame(this.words, reply, seqId, 1000 + seqId, 0, false, 0, 0);
    responses.stage();
    this.publish(frame);
    this.channel.monitors[0]!.endTransaction();
    this.next(slot);
  }

  /** Publishes the staged replies (the end of a batch). */
  flushReplies(slot: number): void {
    this.channel.responseRing(slot).flush();
  }

  /** Moves past the head record without freeing it (a worker releases in batches). */
  next(slot: number): void {
    const ring = this.channel.requestRing(slot);
    if (ring.peekRecord() < 0) throw new Error(`slot ${slot} has no request`);
    ring.take();
  }

  release(slot: number): void {
    this.channel.requestRing(slot).release();
  }

  /** Runs the head request to completion: start, publish, end the transaction, take it. */
  finish(slot: number, lane = 0): void {
    const frame = this.start(slot, { lane });
    this.publish(frame);
    this.channel.monitors[lane]!.endTransaction();
    this.next(slot);
  }
}

function setup(options: LayoutOptions = SMALL) {
  const { buffer, layout: supervisor } = makeLayout(options);
  for (const slot of [1, 2]) supervisor.getSlot(slot).state = SlotState.Active;
  const caller = PhoenixShmLayout.attach(buffer);
  const queue = (group: GroupName, index: number, slot: number, seqIds: number[]): QueuedRequest[] =>
    queueRequests(
      caller,
      caller.getChannel(group, index),
      slot,
      seqIds.map((seqId) => ({ seqId, funcId: 1000 + seqId })),
    );
  return { buffer, supervisor, caller, queue };
}

/** The standard crash: worker normal/1 started request 101 of slot 1 (four more queued) and died. */
function crashed(options: LayoutOptions = SMALL) {
  const env = setup(options);
  const requests = env.queue('normal', 1, 1, [101, 102, 103, 104, 105]);
  const worker = new SimulatedWorker(env.buffer, 'normal', 1);
  const frame = worker.start(1);
  return { ...env, requests, worker, frame, channel: env.supervisor.getNormalChannel(1) };
}

const state = (layout: PhoenixShmLayout, frame: number) =>
  Atomics.load(layout.views.words, Frames.requestStateIndex(frame));

describe('scanHungTransactions', () => {
  it('does not report a monitor before the threshold has passed', () => {
    const { supervisor, channel } = crashed();
    const start = channel.monitor.getStartTimestamp();
    expect(supervisor.scanHungTransactions(start, 1000)).toEqual([]);
    expect(supervisor.scanHungTransactions(start + 1000, 1000)).toEqual([]);
  });

  it('reports the monitor once the threshold has passed', () => {
    const { supervisor, channel } = crashed();
    const start = channel.monitor.getStartTimestamp();
    expect(supervisor.scanHungTransactions(start + 1000.5, 1000)).toEqual([
      {
        group: 'normal',
        workerIndex: 1,
        lane: 0,
        seqId: 101,
        transaction: 1,
        startTimestamp: start,
        elapsedMs: 1000.5,
      },
    ]);
  });

  it('stamps the start on the shared CLOCK_MONOTONIC (monotonicNowMs)', () => {
    const before = performance.now();
    const { channel } = crashed();
    // Far above this process's performance.now(): the clock counts from boot, not from our start.
    expect(channel.monitor.getStartTimestamp()).toBeGreaterThan(before);
  });

  it('ignores idle monitors and finished transactions', () => {
    const env = setup();
    env.queue('vip', 0, 2, [7]);
    new SimulatedWorker(env.buffer, 'vip', 0).finish(2);
    expect(env.supervisor.scanHungTransactions(Number.MAX_VALUE, 0)).toEqual([]);
  });

  it('reports every stuck monitor, each with its own worker', () => {
    const env = setup();
    env.queue('normal', 0, 1, [1]);
    env.queue('vip', 1, 2, [2]);
    new SimulatedWorker(env.buffer, 'normal', 0).start(1);
    new SimulatedWorker(env.buffer, 'vip', 1).start(2);
    const found = env.supervisor.scanHungTransactions(Number.MAX_VALUE, 0);
    expect(found.map((h) => [h.group, h.workerIndex, h.seqId])).toEqual([
      ['normal', 0, 1],
      ['vip', 1, 2],
    ]);
  });
});

describe('recoverWorker after a crash mid-batch (replies staged, not published)', () => {
  /** Worker normal/1 ran 101 and 102 (replies staged), then started 103 and died; 104, 105 queued. */
  function crashedMidBatch() {
    const env = setup();
    env.queue('normal', 1, 1, [101, 102, 103, 104, 105]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 1);
    worker.stageReply(1);
    worker.stageReply(1);
    const frame = worker.start(1);
    return { ...env, worker, frame, channel: env.supervisor.getNormalChannel(1) };
  }

  const publishedSeqIds = (layout: PhoenixShmLayout, channel: WorkerChannel, slot: number): number[] => {
    const ring = channel.attachResponseRing(slot);
    const seqIds: number[] = [];
    for (let frame = ring.peekRecord(); frame >= 0; frame = ring.peekRecord()) {
      seqIds.push(Frames.responseSeqId(layout.views.words, frame));
      ring.take();
    }
    return seqIds;
  };

  it('publishes the replies of the requests that ran, in order', () => {
    const { supervisor, channel } = crashedMidBatch();
    expect(publishedSeqIds(supervisor, channel, 1)).toEqual([]);
    const report = supervisor.recoverWorker(channel);
    expect(report.adoptedReplies).toEqual(new Map([[1, 2]]));
    expect(publishedSeqIds(supervisor, channel, 1)).toEqual([101, 102]);
  });

  it('still fails exactly the poison and leaves the rest queued', () => {
    const { supervisor, channel, frame } = crashedMidBatch();
    const report = supervisor.recoverWorker(channel);
    expect(report.poisons.map((poison) => poison.seqId)).toEqual([103]);
    expect(state(supervisor, frame)).toBe(Failed);
    expect(readQueue(channel, 1, supervisor.views.words).map((request) => request.seqId)).toEqual([104, 105]);
  });

  it('adopts only what follows the published replies', () => {
    const env = setup();
    env.queue('normal', 1, 1, [101, 102, 103]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 1);
    worker.stageReply(1);
    worker.flushReplies(1); // 101's reply went out; its request is still in the ring (DONE)
    worker.stageReply(1);
    const channel = env.supervisor.getNormalChannel(1);
    const report = env.supervisor.recoverWorker(channel);
    expect(report.adoptedReplies).toEqual(new Map([[1, 1]]));
    expect(publishedSeqIds(env.supervisor, channel, 1)).toEqual([101, 102]);
  });

  it('adopts the replies on both sides of requests nobody ran (cancelled or moved by their caller)', () => {
    const env = setup();
    const frames = env.queue('normal', 1, 1, [101, 102, 103, 104, 105]).map((request) => request.frame);
    const worker = new SimulatedWorker(env.buffer, 'normal', 1);
    const words = env.supervisor.views.words;
    worker.stageReply(1); // 101
    // The callers gave up on 102 and moved 103 before the worker came to them: it passed over both.
    expect(Atomics.compareExchange(words, Frames.requestStateIndex(frames[1]!), Pending, Cancelled)).toBe(Pending);
    expect(Atomics.compareExchange(words, Frames.requestStateIndex(frames[2]!), Pending, Moved)).toBe(Pending);
    worker.next(1);
    worker.next(1);
    worker.stageReply(1); // 104, then it died
    const channel = env.supervisor.getNormalChannel(1);
    const report = env.supervisor.recoverWorker(channel);
    expect(report.adoptedReplies).toEqual(new Map([[1, 2]]));
    expect(publishedSeqIds(env.supervisor, channel, 1)).toEqual([101, 104]);
    expect(readQueue(channel, 1, words).map((request) => request.seqId)).toEqual([105]);
  });

  it('adopts nothing past the published tail that is not the reply of a request that ran', () => {
    const env = setup();
    env.queue('normal', 1, 1, [101, 102]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 1);
    worker.stageReply(1);
    // A record for a request that is still PENDING (stale bytes, or a worker bug): never published.
    const responses = worker.channel.responseRing(1);
    const reply = responses.reserve(RESPONSE_FRAME_BYTES);
    Frames.writeResponseFrame(worker.words, reply, 102, 1102, 0, false, 0, 0);
    responses.stage();
    const channel = env.supervisor.getNormalChannel(1);
    const report = env.supervisor.recoverWorker(channel);
    expect(report.adoptedReplies).toEqual(new Map([[1, 1]]));
    expect(publishedSeqIds(env.supervisor, channel, 1)).toEqual([101]);
    expect(readQueue(channel, 1, env.supervisor.views.words)).toEqual([
      { seqId: 102, funcId: 1102, attempt: 1, state: Pending },
    ]);
  });

  it('leaves a slot whose response ring fails validation to its caller (not a corrupt slot of recovery)', () => {
    const env = setup();
    env.queue('normal', 1, 1, [101, 102, 103]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 1);
    worker.stageReply(1); // then died between requests: no poison
    const channel = env.supervisor.getNormalChannel(1);
    // The ring's magic word: attaching it now fails validation.
    const magic = new Int32Array(env.supervisor.buffer, channel.responseRingOffset(1), 1);
    magic[0] = magic[0]! ^ 0x5a5a5a5a;
    const report = env.supervisor.recoverWorker(channel);
    expect(report.adoptedReplies.size).toBe(0);
    expect(report.corruptSlots).toEqual([]);
    expect(readQueue(channel, 1, env.supervisor.views.words).map((request) => request.seqId)).toEqual([102, 103]);
  });

  it('publishes nothing after a crash with no staged reply', () => {
    const { supervisor, channel } = crashed();
    expect(supervisor.recoverWorker(channel).adoptedReplies.size).toBe(0);
    expect(publishedSeqIds(supervisor, channel, 1)).toEqual([]);
  });
});

describe('recoverWorker after a crash mid-request', () => {
  it('returns exactly the one poison: its seq id, slot, func id and attempt 1, not retried', () => {
    const { supervisor, channel } = crashed();
    const report = supervisor.recoverWorker(channel);
    expect(report.group).toBe('normal');
    expect(report.workerIndex).toBe(1);
    expect(report.poisons).toEqual([
      { group: 'normal', workerIndex: 1, lane: 0, slot: 1, seqId: 101, funcId: 1101, attempt: 1, retried: false },
    ]);
  });

  it('marks the poison FAILED', () => {
    const { supervisor, channel, frame } = crashed();
    supervisor.recoverWorker(channel);
    expect(state(supervisor, frame)).toBe(Failed);
  });

  it('skips exactly the poison: the ring head advances by one record', () => {
    const { supervisor, channel } = crashed();
    expect(channel.attachRequestRing(1).consumedCount()).toBe(0);
    const report = supervisor.recoverWorker(channel);
    expect(report.skipped).toBe(1);
    expect(channel.attachRequestRing(1).consumedCount()).toBe(1);
    expect(channel.attachRequestRing(1).size()).toBe(4);
  });

  it('leaves the requests behind it PENDING, untouched and in order', () => {
    const { supervisor, channel } = crashed();
    supervisor.recoverWorker(channel);
    expect(readQueue(channel, 1, supervisor.views.words)).toEqual(
      [102, 103, 104, 105].map((seqId) => ({ seqId, funcId: 1000 + seqId, attempt: 1, state: Pending })),
    );
  });

  it('resets the monitor to IDLE with no request', () => {
    const { supervisor, channel } = crashed();
    supervisor.recoverWorker(channel);
    expect(channel.monitor.isProcessing()).toBe(false);
    expect(channel.monitor.getProcessingSeq()).toBe(0);
    expect(channel.monitor.getSlot()).toBe(-1);
    expect(supervisor.scanHungTransactions(Number.MAX_VALUE, 0)).toEqual([]);
  });

  it('lets a replacement worker carry on with the next request', () => {
    const { buffer, supervisor, channel } = crashed();
    supervisor.recoverWorker(channel);
    const replacement = new SimulatedWorker(buffer, 'normal', 1);
    const frame = replacement.start(1);
    expect(Frames.requestSeqId(replacement.words, frame)).toBe(102);
    expect(replacement.channel.monitor.getRingPosition()).toBe(1);
  });

  it('does the same through recoverCrashedWorkers([{ group, workerIndex }])', () => {
    const { supervisor } = crashed();
    const reports = supervisor.recoverCrashedWorkers([{ group: 'normal', workerIndex: 1 }]);
    expect(reports).toEqual([
      {
        group: 'normal',
        workerIndex: 1,
        skipped: 1,
        adoptedReplies: new Map(),
        corruptSlots: [],
        poisons: [
          { group: 'normal', workerIndex: 1, lane: 0, slot: 1, seqId: 101, funcId: 1101, attempt: 1, retried: false },
        ],
      },
    ]);
  });

  it('works for a VIP worker', () => {
    const env = setup();
    const [poison] = env.queue('vip', 1, 2, [501, 502]);
    new SimulatedWorker(env.buffer, 'vip', 1).start(2);
    const [report] = env.supervisor.recoverCrashedWorkers([{ group: 'vip', workerIndex: 1 }]);
    expect(report!.poisons).toEqual([
      { group: 'vip', workerIndex: 1, lane: 0, slot: 2, seqId: 501, funcId: 1501, attempt: 1, retried: false },
    ]);
    expect(state(env.supervisor, poison!.frame)).toBe(Failed);
    expect(readQueue(env.supervisor.getVipChannel(1), 2, env.supervisor.views.words).map((r) => r.seqId)).toEqual([
      502,
    ]);
  });

  it('leaves the other workers’ queues on the same slot alone', () => {
    const env = setup();
    env.queue('normal', 0, 1, [11, 12]);
    env.queue('normal', 1, 1, [21, 22]);
    new SimulatedWorker(env.buffer, 'normal', 1).start(1);
    env.supervisor.recoverWorker(env.supervisor.getNormalChannel(1));
    expect(
      readQueue(env.supervisor.getNormalChannel(0), 1, env.supervisor.views.words).map((r) => [r.seqId, r.state]),
    ).toEqual([
      [11, Pending],
      [12, Pending],
    ]);
    expect(env.supervisor.getNormalChannel(0).attachRequestRing(1).consumedCount()).toBe(0);
  });
});

describe("a simulated crash with the design's API (beginTransaction(seqId, groupId, workerIndex), no channel named)", () => {
  /** Worker normal/1 begins request 101 of slot 1 with the three-argument call, claims it or not, and dies. */
  function crashedPlainly({ take }: { take: boolean }) {
    const env = setup();
    env.queue('normal', 1, 1, [101, 102, 103]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 1);
    const frame = worker.channel.requestRing(1).peekRecord();
    worker.channel.monitor.beginTransaction(101, 0, 1);
    if (take) Atomics.compareExchange(worker.words, Frames.requestStateIndex(frame), Pending, Taken);
    return { ...env, channel: env.supervisor.getNormalChannel(1) };
  }

  it.each([[true], [false]])(
    'claimed %s: scanCrashedWorkers finds it, and recovery skips exactly that message',
    (take) => {
      const { supervisor, channel } = crashedPlainly({ take });
      expect(supervisor.scanCrashedWorkers(Number.MAX_VALUE, 0).map((hung) => hung.seqId)).toEqual([101]);
      const [report] = supervisor.recoverCrashedWorkers(Number.MAX_VALUE, 0);
      expect(report).toMatchObject({ group: 'normal', workerIndex: 1, skipped: 1 });
      expect(report!.poisons).toMatchObject([{ slot: 1, seqId: 101, funcId: 1101, attempt: 1, retried: false }]);
      expect(channel.monitor.isProcessing()).toBe(false);
      expect(readQueue(channel, 1, supervisor.views.words).map((request) => request.seqId)).toEqual([102, 103]);
    },
  );

  it('recoverCrashedWorkers refuses anything but a list of workers or nowMs and thresholdMs', () => {
    const { supervisor } = crashedPlainly({ take: true });
    for (const bad of [undefined, 'normal', {}]) {
      expect(() => supervisor.recoverCrashedWorkers(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }),
      );
    }
    expect(() => supervisor.recoverCrashedWorkers([{ group: 'bogus' as GroupName, workerIndex: 0 }])).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }),
    );
  });
});

describe('recoverWorker with a retry policy', () => {
  it('puts the poison back as PENDING with attempt 2', () => {
    const { supervisor, channel, frame } = crashed();
    supervisor.recoverWorker(channel, { shouldRetry: () => true });
    expect(state(supervisor, frame)).toBe(Pending);
    expect(Frames.requestAttempt(supervisor.views.words, frame)).toBe(2);
  });

  it('does not skip it: it stays at the head of the queue', () => {
    const { supervisor, channel } = crashed();
    const report = supervisor.recoverWorker(channel, { shouldRetry: () => true });
    expect(report.skipped).toBe(0);
    expect(channel.attachRequestRing(1).consumedCount()).toBe(0);
    expect(readQueue(channel, 1, supervisor.views.words).map((r) => [r.seqId, r.attempt])).toEqual([
      [101, 2],
      [102, 1],
      [103, 1],
      [104, 1],
      [105, 1],
    ]);
  });

  it('reports it as retried, with the attempt that was running', () => {
    const { supervisor, channel } = crashed();
    const report = supervisor.recoverWorker(channel, { shouldRetry: () => true });
    expect(report.poisons).toEqual([
      { group: 'normal', workerIndex: 1, lane: 0, slot: 1, seqId: 101, funcId: 1101, attempt: 1, retried: true },
    ]);
  });

  it('asks the policy with the poison’s seq id, func id and attempt', () => {
    const { supervisor, channel } = crashed();
    const asked: unknown[] = [];
    supervisor.recoverWorker(channel, {
      shouldRetry: (poison) => {
        asked.push(poison);
        return false;
      },
    });
    expect(asked).toEqual([{ seqId: 101, funcId: 1101, attempt: 1 }]);
  });

  it('reports attempt 2 when the retried request kills the replacement too', () => {
    const { buffer, supervisor, channel } = crashed();
    supervisor.recoverWorker(channel, { shouldRetry: ({ attempt }) => attempt < 2 });
    new SimulatedWorker(buffer, 'normal', 1).start(1);
    const report = supervisor.recoverWorker(channel, { shouldRetry: ({ attempt }) => attempt < 2 });
    expect(report.poisons.map((p) => [p.seqId, p.attempt, p.retried])).toEqual([[101, 2, false]]);
    expect(report.skipped).toBe(1);
  });
});

describe('recoverWorker when there is no poison', () => {
  it('finds none when the worker died after publishing the reply (DONE), and skips the record', () => {
    const env = setup();
    const [done] = env.queue('normal', 0, 1, [1, 2]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    worker.publish(worker.start(1)); // died before endTransaction
    const channel = env.supervisor.getNormalChannel(0);
    const report = env.supervisor.recoverWorker(channel);
    expect(report.poisons).toEqual([]);
    expect(report.skipped).toBe(1);
    expect(state(env.supervisor, done!.frame)).toBe(Done);
    expect(channel.monitor.isProcessing()).toBe(false);
    expect(readQueue(channel, 1, env.supervisor.views.words).map((r) => [r.seqId, r.state])).toEqual([[2, Pending]]);
  });

  it('finds none when the worker died after publishing the reply but before marking it DONE', () => {
    const env = setup();
    const [replied] = env.queue('normal', 0, 1, [1, 2]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    const channel = env.supervisor.getNormalChannel(0);
    const responses = PhoenixShmLayout.attach(env.buffer).getNormalChannel(0).responseRing(1);
    channel.monitor.setReplyMark(responses.producedCount);
    const frame = worker.start(1); // TAKEN
    expect(responses.push(new Uint8Array(8))).toBe(true); // the reply went out; then the worker died
    const report = env.supervisor.recoverWorker(channel);
    expect(report.poisons).toEqual([]);
    expect(state(env.supervisor, frame)).toBe(Done);
    expect(state(env.supervisor, replied!.frame)).toBe(Done);
    expect(readQueue(channel, 1, env.supervisor.views.words).map((r) => [r.seqId, r.state])).toEqual([[2, Pending]]);
  });

  it('finds none when the worker died between beginTransaction and the CAS (still PENDING), and skips nothing', () => {
    const env = setup();
    env.queue('normal', 0, 1, [1, 2]);
    new SimulatedWorker(env.buffer, 'normal', 0).start(1, { take: false });
    const channel = env.supervisor.getNormalChannel(0);
    const report = env.supervisor.recoverWorker(channel);
    expect(report).toEqual({
      group: 'normal',
      workerIndex: 0,
      poisons: [],
      skipped: 0,
      adoptedReplies: new Map(),
      corruptSlots: [],
    });
    expect(channel.monitor.isProcessing()).toBe(false);
    expect(readQueue(channel, 1, env.supervisor.views.words)).toEqual([
      { seqId: 1, funcId: 1001, attempt: 1, state: Pending },
      { seqId: 2, funcId: 1002, attempt: 1, state: Pending },
    ]);
  });

  it('finds none when the monitor names another seq id than the record at its position', () => {
    const env = setup();
    const [head] = env.queue('normal', 0, 1, [1, 2]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    worker.start(1);
    worker.channel.monitor.beginTransaction(999, 0, 0, 1, 0, 1001, 1); // a stale or bogus record
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report.poisons).toEqual([]);
    expect(state(env.supervisor, head!.frame)).toBe(Taken);
    expect(report.skipped).toBe(0);
  });

  it('finds none for an idle worker, but still skips the finished records it had not released', () => {
    const env = setup();
    env.queue('normal', 0, 1, [1, 2, 3]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    worker.finish(1);
    worker.finish(1);
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report).toEqual({
      group: 'normal',
      workerIndex: 0,
      poisons: [],
      skipped: 2,
      adoptedReplies: new Map(),
      corruptSlots: [],
    });
    expect(readQueue(env.supervisor.getNormalChannel(0), 1, env.supervisor.views.words).map((r) => r.seqId)).toEqual([
      3,
    ]);
  });

  it('finds none when the monitor names a slot outside the segment, and still resets it', () => {
    const env = setup();
    env.queue('normal', 0, 1, [1]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    worker.channel.monitor.beginTransaction(1, 0, 0, 99, 0, 1001, 1);
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report.poisons).toEqual([]);
    expect(env.supervisor.getNormalChannel(0).monitor.isProcessing()).toBe(false);
  });
});

describe('recoverWorker with finished records at the head', () => {
  it('skips DONE and CANCELLED records before the poison too', () => {
    const env = setup();
    const [, cancelled, poison] = env.queue('normal', 1, 1, [1, 2, 3, 4, 5]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 1);
    worker.finish(1); // 1: DONE, taken, not released
    expect(
      Atomics.compareExchange(env.caller.views.words, Frames.requestStateIndex(cancelled!.frame), Pending, Cancelled),
    ).toBe(Pending); // 2: the caller gave up; the worker steps over it
    worker.next(1);
    worker.start(1); // 3: the poison
    const channel = env.supervisor.getNormalChannel(1);
    const report = env.supervisor.recoverWorker(channel);
    expect(report.poisons.map((p) => p.seqId)).toEqual([3]);
    expect(report.skipped).toBe(3);
    expect(state(env.supervisor, poison!.frame)).toBe(Failed);
    expect(channel.attachRequestRing(1).consumedCount()).toBe(3);
    expect(readQueue(channel, 1, env.supervisor.views.words).map((r) => [r.seqId, r.state])).toEqual([
      [4, Pending],
      [5, Pending],
    ]);
  });

  it('skips a MOVED record at the head', () => {
    const env = setup();
    const [moved] = env.queue('normal', 0, 1, [1, 2]);
    Atomics.compareExchange(env.caller.views.words, Frames.requestStateIndex(moved!.frame), Pending, Moved);
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report.skipped).toBe(1);
    expect(readQueue(env.supervisor.getNormalChannel(0), 1, env.supervisor.views.words).map((r) => r.seqId)).toEqual([
      2,
    ]);
  });

  it('finds the poison by ring position after the worker had released earlier records', () => {
    const env = setup();
    env.queue('normal', 0, 1, [1, 2, 3, 4]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    worker.finish(1);
    worker.finish(1);
    worker.release(1);
    worker.start(1);
    expect(worker.channel.monitor.getRingPosition()).toBe(2);
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report.poisons.map((p) => p.seqId)).toEqual([3]);
    expect(report.skipped).toBe(1);
    expect(env.supervisor.getNormalChannel(0).attachRequestRing(1).consumedCount()).toBe(3);
  });

  it('finds the poison behind finished records the worker had not released', () => {
    const env = setup();
    env.queue('normal', 0, 1, [1, 2, 3]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    worker.finish(1);
    worker.start(1);
    expect(worker.channel.monitor.getRingPosition()).toBe(1);
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report.poisons.map((p) => p.seqId)).toEqual([2]);
    expect(report.skipped).toBe(2);
  });

  it('finds the poison after the ring wrapped around its data region', () => {
    const env = setup();
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    // Push and complete enough requests to wrap the 16-slot ring a few times.
    for (let seq = 1; seq <= 50; seq++) {
      env.queue('normal', 0, 1, [seq]);
      worker.finish(1);
      worker.release(1);
    }
    env.queue('normal', 0, 1, [51, 52]);
    worker.start(1);
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report.poisons.map((p) => [p.seqId, p.slot])).toEqual([[51, 1]]);
    expect(readQueue(env.supervisor.getNormalChannel(0), 1, env.supervisor.views.words).map((r) => r.seqId)).toEqual([
      52,
    ]);
  });
});

describe('recoverWorker across slots and lanes', () => {
  it('touches only the monitor’s slot when two slots hold requests', () => {
    const env = setup();
    env.queue('normal', 0, 1, [11, 12, 13]);
    env.queue('normal', 0, 2, [21, 22, 23]);
    new SimulatedWorker(env.buffer, 'normal', 0).start(2);
    const channel = env.supervisor.getNormalChannel(0);
    const report = env.supervisor.recoverWorker(channel);
    expect(report.poisons.map((p) => [p.slot, p.seqId])).toEqual([[2, 21]]);
    expect(report.skipped).toBe(1);
    expect(readQueue(channel, 1, env.supervisor.views.words).map((r) => [r.seqId, r.state])).toEqual([
      [11, Pending],
      [12, Pending],
      [13, Pending],
    ]);
    expect(channel.attachRequestRing(1).consumedCount()).toBe(0);
    expect(readQueue(channel, 2, env.supervisor.views.words).map((r) => r.seqId)).toEqual([22, 23]);
  });

  it('finds the poison of every lane of a worker with concurrency 2', () => {
    const options = { ...SMALL, concurrency: 2 };
    const env = setup(options);
    env.queue('normal', 0, 1, [1, 2, 3]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    worker.start(1, { lane: 0 });
    worker.next(1);
    worker.start(1, { lane: 1 });
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report.poisons.map((p) => [p.lane, p.seqId])).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(report.skipped).toBe(2);
    expect(env.supervisor.getNormalChannel(0).monitors.every((m) => !m.isProcessing())).toBe(true);
  });

  it('finds the poison of lane 1 while lane 0 had already finished', () => {
    const env = setup({ ...SMALL, concurrency: 2 });
    env.queue('normal', 0, 1, [1, 2, 3]);
    const worker = new SimulatedWorker(env.buffer, 'normal', 0);
    worker.finish(1, 0);
    worker.start(1, { lane: 1 });
    const report = env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(report.poisons.map((p) => [p.lane, p.seqId])).toEqual([[1, 2]]);
    expect(report.skipped).toBe(2);
  });

  it('ignores a FREE slot it has no poison in', () => {
    const env = setup();
    env.queue('normal', 0, 3, [31]); // slot 3 stays FREE
    const [done] = env.queue('normal', 0, 3, [32]);
    Atomics.store(env.caller.views.words, Frames.requestStateIndex(done!.frame), Done);
    env.supervisor.recoverWorker(env.supervisor.getNormalChannel(0));
    expect(env.supervisor.getNormalChannel(0).attachRequestRing(3).consumedCount()).toBe(0);
  });
});
