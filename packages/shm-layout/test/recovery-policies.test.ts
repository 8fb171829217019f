// Crash recovery, simulated in one buffer (recovery-kit.ts): retry policies, no poison, finished records at the
// head, and recovery across slots and lanes.
import { describe, expect, it } from 'vitest';
import { Frames, PhoenixShmLayout } from '../src/index.js';
import { readQueue, SMALL } from './helpers.js';
import {
  Cancelled,
  crashed,
  Done,
  Failed,
  Moved,
  Pending,
  SimulatedWorker,
  setup,
  state,
  Taken,
} from './recovery-kit.js';

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
