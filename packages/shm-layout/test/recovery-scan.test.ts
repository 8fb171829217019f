// Crash recovery, simulated in one buffer (recovery-kit.ts): the hang scan, and recoverWorker after a crash mid-batch
// or mid-request, and with the design's three-argument transaction.
import { describe, expect, it } from 'vitest';
import {
  Frames,
  type GroupName,
  type PhoenixShmLayout,
  RESPONSE_FRAME_BYTES,
  type WorkerChannel,
} from '../src/index.js';
import { readQueue } from './helpers.js';
import { Cancelled, crashed, Failed, Moved, Pending, SimulatedWorker, setup, state, Taken } from './recovery-kit.js';

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
