/**
 * Crash recovery over the segment: finding hung transactions, and cleaning
 * up after a dead worker so that its poison is answered and everything else
 * queued to it runs exactly once (by a sibling or its replacement).
 *
 * Only the supervisor calls these, and only for a worker that is dead (the
 * exit event says so) or killed: it then holds the worker's consumer role.
 */
import type { ThreadMonitor } from '@phoenix-ipc/monitor';
import { PhoenixError } from '@phoenix-ipc/ringbuffer';
import {
  requestAttempt,
  requestFuncId,
  requestSeqId,
  requestStateIndex,
  responseSeqId,
  setRequestAttempt,
} from './frames.js';
import type { PhoenixShmLayout } from './phoenix-shm-layout.js';
import { RESPONSE_FRAME_BYTES, RequestState } from './protocol.js';
import { SlotState } from './slot-record.js';
import type { GroupName, WorkerChannel } from './worker-channel.js';

/** A monitor that has been PROCESSING longer than the threshold. */
export interface HungTransaction {
  group: GroupName;
  workerIndex: number;
  lane: number;
  seqId: number;
  transaction: number;
  startTimestamp: number;
  elapsedMs: number;
}

/** A request a dead worker had started: answer its caller (or it was re-queued). */
export interface PoisonMessage {
  group: GroupName;
  workerIndex: number;
  lane: number;
  slot: number;
  seqId: number;
  funcId: number;
  /** The attempt that was running when the worker died (1 for the first run). */
  attempt: number;
  /** True when it was put back as PENDING for another run (retry policy). */
  retried: boolean;
}

export interface RecoveryReport {
  group: GroupName;
  workerIndex: number;
  poisons: PoisonMessage[];
  /** Records skipped at the head of the worker's rings (poisons and finished records). */
  skipped: number;
  /** Replies the worker had staged but not published (replyBatch), published now: slot -> how many. */
  adoptedReplies: Map<number, number>;
  /** Slots whose request ring with this worker failed validation: their channel needs a fresh format. */
  corruptSlots: number[];
}

/** A monitor's slot when its transaction was begun without one (ThreadMonitor's default). */
const NO_SLOT = -1;

export interface RecoverOptions {
  /** Decide whether a poison is re-queued; default: never (the design's 'fail' policy; docs/design-mapping.md). */
  shouldRetry?: (poison: { seqId: number; funcId: number; attempt: number }) => boolean;
}

/** Monitors PROCESSING for longer than `thresholdMs` at `nowMs` (hang suspects). */
export function scanHungTransactions(layout: PhoenixShmLayout, nowMs: number, thresholdMs: number): HungTransaction[] {
  const found: HungTransaction[] = [];
  for (const channel of layout.channels) {
    channel.monitors.forEach((monitor, lane) => {
      const snapshot = monitor.snapshot();
      if (!snapshot.processing) return;
      const elapsedMs = nowMs - snapshot.startTimestamp;
      if (elapsedMs > thresholdMs) {
        found.push({
          group: channel.group,
          workerIndex: channel.index,
          lane,
          seqId: snapshot.seqId,
          transaction: snapshot.transaction,
          startTimestamp: snapshot.startTimestamp,
          elapsedMs,
        });
      }
    });
  }
  return found;
}

/**
 * Cleans up after a dead worker (design: RecoverCrashedWorkers; see
 * docs/design-mapping.md). For each PROCESSING monitor it finds the exact
 * request (slot + ring position + seq id): if the worker had started it
 * (TAKEN) it is the poison — marked FAILED, or PENDING again with the attempt
 * counted when `shouldRetry` says so — unless its reply was already published.
 * Then records nobody will run (finished, failed, cancelled, moved) at the
 * head of the worker's rings are skipped, the monitors reset, and the report
 * lists what to answer. Requests that had not started stay queued, untouched.
 */
export function recoverWorker(
  layout: PhoenixShmLayout,
  channel: WorkerChannel,
  options: RecoverOptions = {},
): RecoveryReport {
  const poisons: PoisonMessage[] = [];
  const touched = new Set<number>();
  const corrupt = new Set<number>();
  channel.monitors.forEach((monitor, lane) => {
    const poison = recoverLane(layout, channel, monitor, lane, options, touched, corrupt);
    if (poison !== null) poisons.push(poison);
    monitor.reset();
  });
  let skipped = 0;
  const adoptedReplies = new Map<number, number>();
  for (let slot = 0; slot < layout.slots.length; slot++) {
    if ((layout.slots[slot]!.state === SlotState.Free && !touched.has(slot)) || corrupt.has(slot)) continue;
    try {
      const adopted = publishStagedReplies(layout, channel, slot);
      if (adopted > 0) adoptedReplies.set(slot, adopted);
    } catch {
      // A response ring that fails validation: nothing to adopt from it. Its
      // caller meets the corruption itself and reports it (the client's
      // onCorruptChannel); a request ring that fails fails again just below.
    }
    try {
      skipped += skipFinishedHead(layout, channel, slot);
    } catch {
      corrupt.add(slot);
    }
  }
  return {
    group: channel.group,
    workerIndex: channel.index,
    poisons,
    skipped,
    adoptedReplies,
    corruptSlots: [...corrupt].sort((a, b) => a - b),
  };
}

/**
 * PhoenixShmLayout.recoverCrashedWorkers: the workers named (`{ group,
 * workerIndex }`), or those scanHungTransactions finds at `nowMs` past
 * `thresholdMs` (the design's RecoverCrashedWorkers(nowMs, thresholdMs)).
 */
export function recoverCrashedWorkers(
  layout: PhoenixShmLayout,
  workersOrNow: readonly { group: GroupName; workerIndex: number }[] | number,
  optionsOrThreshold?: RecoverOptions | number,
  lastOptions: RecoverOptions = {},
): RecoveryReport[] {
  if (typeof workersOrNow === 'number') {
    const found = scanHungTransactions(layout, workersOrNow, optionsOrThreshold as number);
    const channels = [...new Set(found.map((hung) => layout.getChannel(hung.group, hung.workerIndex)))];
    return channels.map((channel) => recoverWorker(layout, channel, lastOptions));
  }
  if (!Array.isArray(workersOrNow)) {
    throw new PhoenixError(
      'ERR_PHOENIX_INVALID_ARGUMENT',
      'recoverCrashedWorkers takes a list of { group, workerIndex }, or nowMs and thresholdMs',
    );
  }
  const options = (optionsOrThreshold as RecoverOptions | undefined) ?? {};
  return workersOrNow.map((worker: { group: GroupName; workerIndex: number }) => {
    const group = worker?.group;
    if (group !== 'normal' && group !== 'vip') {
      throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `group must be 'normal' or 'vip', got ${String(group)}`);
    }
    return recoverWorker(layout, layout.getChannel(group, worker.workerIndex), options);
  });
}

// The request one lane was running when its worker died: the poison, or null.
function recoverLane(
  layout: PhoenixShmLayout,
  channel: WorkerChannel,
  monitor: ThreadMonitor,
  lane: number,
  options: RecoverOptions,
  touched: Set<number>,
  corrupt: Set<number>,
): PoisonMessage | null {
  const words = layout.views.words;
  const snapshot = monitor.snapshot();
  if (!snapshot.processing) return null;
  let slot = snapshot.slot;
  let frame: number;
  // A transaction begun with the design's three arguments (seq id, group,
  // worker index) names no channel: its request is found by seq id among the
  // records the worker has not released, whether it had claimed it yet or not.
  const named = slot !== NO_SLOT;
  if (named) {
    // The slot comes from shared memory: check it before using it as an index.
    if (!Number.isInteger(slot) || slot < 0 || slot >= layout.slots.length || corrupt.has(slot)) return null;
    touched.add(slot);
    try {
      frame = findRequest(channel, slot, snapshot.ringPosition);
    } catch {
      corrupt.add(slot);
      return null;
    }
  } else {
    const found = findRequestBySeqId(layout, channel, snapshot.seqId, corrupt);
    if (found === null) return null;
    slot = found.slot;
    frame = found.frame;
    touched.add(slot);
  }
  if (frame < 0 || requestSeqId(words, frame) !== snapshot.seqId) return null;
  const stateIndex = requestStateIndex(frame);
  const state = Atomics.load(words, stateIndex);
  if (state !== RequestState.Taken && (named || state !== RequestState.Pending)) return null;
  if (named && replyPublished(layout, channel, slot, snapshot.replyMark)) {
    // Died after publishing the reply, before marking the request done: it is not a poison.
    Atomics.compareExchange(words, stateIndex, RequestState.Taken, RequestState.Done);
    return null;
  }
  const attempt = requestAttempt(words, frame);
  const funcId = requestFuncId(words, frame);
  const retried = options.shouldRetry?.({ seqId: snapshot.seqId, funcId, attempt }) ?? false;
  if (retried) {
    setRequestAttempt(words, frame, attempt + 1);
    Atomics.compareExchange(words, stateIndex, RequestState.Taken, RequestState.Pending);
  } else {
    Atomics.compareExchange(words, stateIndex, state, RequestState.Failed);
  }
  return {
    group: channel.group,
    workerIndex: channel.index,
    lane,
    slot,
    seqId: snapshot.seqId,
    funcId,
    attempt,
    retried,
  };
}

// With one handler at a time (concurrency 1), a worker publishes exactly one
// reply per request into the slot's response ring, so a published count
// beyond the count it recorded at the start means this request's reply went out.
function replyPublished(layout: PhoenixShmLayout, channel: WorkerChannel, slot: number, replyMark: number): boolean {
  if (layout.options.concurrency !== 1) return false;
  const published = channel.attachResponseRing(slot).indices().tailCount;
  return ((published - replyMark) | 0) > 0;
}

// The unreleased request `seqId` in any of the worker's request rings, or
// null. Seq ids come from one counter per segment, so a match is that request.
function findRequestBySeqId(
  layout: PhoenixShmLayout,
  channel: WorkerChannel,
  seqId: number,
  corrupt: Set<number>,
): { slot: number; frame: number } | null {
  const words = layout.views.words;
  for (let slot = 0; slot < layout.slots.length; slot++) {
    if (corrupt.has(slot)) continue;
    try {
      const ring = channel.attachRequestRing(slot);
      for (let i = 0; i < ring.capacity; i++) {
        const frame = ring.peekRecord();
        if (frame < 0) break;
        if (requestSeqId(words, frame) === seqId) return { slot, frame };
        ring.take();
      }
    } catch {
      corrupt.add(slot);
    }
  }
  return null;
}

// The request at message index `position` of (channel, slot)'s request ring,
// or -1 if the consumer already released it (its reply was published).
function findRequest(channel: WorkerChannel, slot: number, position: number): number {
  const ring = channel.attachRequestRing(slot);
  const distance = (position - ring.consumedCount()) >>> 0;
  if (distance >= ring.capacity) return -1;
  for (let i = 0; i < distance; i++) {
    if (ring.peekRecord() < 0) return -1;
    ring.take();
  }
  return ring.peekRecord();
}

// With one handler at a time a worker stages replies and publishes them in
// batches (replyBatch), marking each request DONE when its reply is staged.
// One that died mid-batch left replies of requests it ran staged past the
// published tail of the slot's response ring: they are published here, so
// that every request that ran gets its reply. A record is adopted only if it
// is the reply of the next DONE request still in the request ring (requests
// and their replies are in the same order), so nothing stale is ever
// published. Passed over on the way: DONE requests whose reply went out
// before, and requests nobody ran (cancelled or moved by their caller,
// failed by recovery), which have no reply. The walk ends at the first
// request that is still PENDING or TAKEN: nothing after it ran.
function publishStagedReplies(layout: PhoenixShmLayout, channel: WorkerChannel, slot: number): number {
  if (layout.options.concurrency !== 1) return 0;
  const requests = channel.attachRequestRing(slot);
  const words = layout.views.words;
  return channel.attachResponseRing(slot).adoptStaged((frame, length) => {
    if (length < RESPONSE_FRAME_BYTES) return false;
    const seqId = responseSeqId(words, frame);
    for (;;) {
      const request = requests.peekRecord();
      if (request < 0) return false;
      const state = Atomics.load(words, requestStateIndex(request));
      if (state === RequestState.Pending || state === RequestState.Taken) return false;
      requests.take();
      if (state === RequestState.Done && requestSeqId(words, request) === seqId) return true;
    }
  });
}

// Skips records no one will run (finished, failed, cancelled, moved) at the head.
function skipFinishedHead(layout: PhoenixShmLayout, channel: WorkerChannel, slot: number): number {
  const ring = channel.attachRequestRing(slot);
  const words = layout.views.words;
  let skipped = 0;
  for (;;) {
    const frame = ring.peekRecord();
    if (frame < 0) break;
    const state = Atomics.load(words, requestStateIndex(frame));
    if (state === RequestState.Pending || state === RequestState.Taken) break;
    ring.take();
    skipped++;
  }
  if (skipped > 0) ring.release();
  return skipped;
}
