/**
 * Crash recovery, simulated in one buffer: a "caller" instance queues
 * requests, a "worker" instance (attached separately, as a worker process
 * would) starts one and stops dead, and the supervisor's instance scans and
 * recovers. No process is killed: a crash is an instance that stops calling.
 * The pieces of that simulation, shared by the recovery tests.
 */
import { expect } from 'vitest';
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
import { makeLayout, type QueuedRequest, queueRequests, SMALL } from './helpers.js';

export const { Pending, Taken, Cancelled, Moved, Done, Failed } = RequestState;

/** A worker process's view: its own layout instance and ring cursors. */
export class SimulatedWorker {
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

export function setup(options: LayoutOptions = SMALL) {
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
export function crashed(options: LayoutOptions = SMALL) {
  const env = setup(options);
  const requests = env.queue('normal', 1, 1, [101, 102, 103, 104, 105]);
  const worker = new SimulatedWorker(env.buffer, 'normal', 1);
  const frame = worker.start(1);
  return { ...env, requests, worker, frame, channel: env.supervisor.getNormalChannel(1) };
}

export const state = (layout: PhoenixShmLayout, frame: number) =>
  Atomics.load(layout.views.words, Frames.requestStateIndex(frame));
