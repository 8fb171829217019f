/**
 * After a worker dies, the supervisor takes over its consumer role: the
 * requests it had started (poisons) are answered with
 * ERR_PHOENIX_WORKER_CRASHED or re-queued under a retry policy, and what
 * nobody will run is skipped (design: RecoverCrashedWorkers;
 * docs/design-mapping.md). When a whole group is down, its queued requests
 * are failed at once rather than wait forever. Answers go out through
 * `answer`, which knows where each caller slot lives.
 */

import { exitStatusOf } from '@phoenix-ipc/native-shm';
import {
  Frames,
  PhoenixError,
  type PhoenixErrorDetails,
  type PhoenixShmLayout,
  type PoisonMessage,
  RequestState,
  SlotState,
  type WorkerChannel,
  WorkerState,
} from '@phoenix-ipc/shm-layout';
import { shouldRetry, type WorkerCrashInfo } from './crash-policy.js';
import type { WorkerCrashPolicy } from './server-options.js';

/** Delivers a final error to the caller at `slot` for its request `seqId`. */
export type Answer = (slot: number, seqId: number, error: PhoenixError) => void;

export interface RecoveryOutcome {
  poisons: PoisonMessage[];
  /** Replies the worker had staged and not published (replyBatch), published by recovery. */
  stagedRepliesPublished: number;
  /** Slots whose channel with the worker needs a fresh format. */
  corruptSlots: number[];
}

/** What happened to the worker, in the words of the error its callers get. */
export function describeCrash(info: WorkerCrashInfo, hangTimeoutMs: number): string {
  // Each names the signal or the exit code, and a hang says the word: callers log this message.
  const how = info.signal ?? `exit code ${info.exitCode}`;
  if (info.reason === 'corrupt') return `met a corrupt channel and was replaced (${how})`;
  if (info.reason === 'hang')
    return `was killed (${info.signal ?? 'SIGKILL'}) in a hang of more than ${hangTimeoutMs} ms`;
  return `died (${how})`;
}

/** The error for a poison's caller. `answering` false: the server is shutting down. */
export function crashedError(
  info: WorkerCrashInfo,
  poison: PoisonMessage,
  hangTimeoutMs: number,
  answering: boolean,
): PhoenixError {
  const details: PhoenixErrorDetails = {
    group: info.group,
    workerIndex: info.workerIndex,
    pid: info.pid,
    signal: info.signal,
    exitCode: info.exitCode,
    reason: info.reason,
    seqId: poison.seqId,
    attempt: poison.attempt,
    funcId: poison.funcId,
  };
  return new PhoenixError(
    'ERR_PHOENIX_WORKER_CRASHED',
    `worker ${info.group}[${info.workerIndex}] (pid ${info.pid}) ${describeCrash(info, hangTimeoutMs)} while processing request ${poison.seqId} (func ${poison.funcId}, attempt ${poison.attempt})${answering ? '' : ' during shutdown'}`,
    details,
  );
}

export interface RecoverOptions {
  policy: WorkerCrashPolicy;
  hangTimeoutMs: number;
  /** False during shutdown: nothing is retried, and the errors say so. */
  answering: boolean;
  answer: Answer;
  /** Counts a poison that was answered (not retried). */
  onPoison: (poison: PoisonMessage) => void;
}

// Finds the dead worker's poisons, answers their callers (or re-queues them)
// and returns them with the slots whose channel must be reformatted.
export function recoverCrashedWorker(
  layout: PhoenixShmLayout,
  channel: WorkerChannel,
  info: WorkerCrashInfo,
  options: RecoverOptions,
): RecoveryOutcome {
  let report: ReturnType<PhoenixShmLayout['recoverWorker']>;
  try {
    report = layout.recoverWorker(channel, {
      shouldRetry: ({ attempt }) => shouldRetry(options.policy, attempt, options.answering),
    });
  } catch {
    // Monitors or records beyond repair: every active slot's channel with it gets a fresh format.
    const corruptSlots = layout.slots.filter((slot) => slot.state === SlotState.Active).map((slot) => slot.index);
    return { poisons: [], stagedRepliesPublished: 0, corruptSlots };
  }
  for (const poison of report.poisons) {
    if (poison.retried) continue;
    options.onPoison(poison);
    options.answer(poison.slot, poison.seqId, crashedError(info, poison, options.hangTimeoutMs, options.answering));
  }
  let stagedRepliesPublished = 0;
  for (const count of report.adoptedReplies.values()) stagedRepliesPublished += count;
  return { poisons: report.poisons, stagedRepliesPublished, corruptSlots: report.corruptSlots };
}

/** The crash that took a group down, for the requests failed with it. */
export interface GroupDownCrash {
  info: WorkerCrashInfo;
  /** That crash's poisons: those re-queued for another run (retry policy) get its ERR_PHOENIX_WORKER_CRASHED. */
  poisons: readonly PoisonMessage[];
  hangTimeoutMs: number;
}

// A crash-looping worker with no live sibling: its queued requests would
// wait forever, so they are failed now: ERR_PHOENIX_UNAVAILABLE for those
// that never ran, ERR_PHOENIX_WORKER_CRASHED for those that did and were
// re-queued by a retry policy (they crashed a worker: never "not run").
// Returns the poisons it failed (re-queued ones of `crash`).
export function failQueuedIfGroupDown(
  layout: PhoenixShmLayout,
  channel: WorkerChannel,
  answer: Answer,
  crash: GroupDownCrash,
): PoisonMessage[] {
  const group = channel.group === 'normal' ? layout.normalChannels : layout.vipChannels;
  const alive = group.some(
    (other) =>
      other.state === WorkerState.Running ||
      other.state === WorkerState.Starting ||
      other.state === WorkerState.Restarting,
  );
  if (alive) return [];
  const failedPoisons: PoisonMessage[] = [];
  const words = layout.views.words;
  for (const member of group) {
    for (let slot = 0; slot < layout.slots.length; slot++) {
      if (layout.getSlot(slot).state !== SlotState.Active) continue;
      try {
        const ring = member.attachRequestRing(slot);
        for (;;) {
          const frame = ring.peekRecord();
          if (frame < 0) break;
          const stateIndex = Frames.requestStateIndex(frame);
          if (
            Atomics.compareExchange(words, stateIndex, RequestState.Pending, RequestState.Failed) ===
            RequestState.Pending
          ) {
            const seqId = Frames.requestSeqId(words, frame);
            const poison = crash.poisons.find((p) => p.retried && p.slot === slot && p.seqId === seqId);
            if (poison !== undefined) failedPoisons.push(poison);
            answer(slot, seqId, groupDownError(channel, frame, words, seqId, poison, crash));
          }
          ring.take();
        }
        ring.release();
      } catch {
        // corrupt ring: nothing more to rescue here
      }
    }
  }
  return failedPoisons;
}

function groupDownError(
  channel: WorkerChannel,
  frame: number,
  words: Int32Array,
  seqId: number,
  poison: PoisonMessage | undefined,
  crash: GroupDownCrash,
): PhoenixError {
  if (poison !== undefined) return crashedError(crash.info, poison, crash.hangTimeoutMs, true);
  const attempt = Frames.requestAttempt(words, frame);
  if (attempt > 1) {
    return new PhoenixError(
      'ERR_PHOENIX_WORKER_CRASHED',
      `request ${seqId} crashed a worker on an earlier attempt and was queued for attempt ${attempt}, but every ${channel.group} worker is now down (crash loop)`,
      { group: channel.group, seqId, attempt, funcId: Frames.requestFuncId(words, frame) },
    );
  }
  return new PhoenixError(
    'ERR_PHOENIX_UNAVAILABLE',
    `every ${channel.group} worker is down (crash loop); the request was not run`,
    { seqId },
  );
}

/** The error of a callSync whose worker died while it waited (supervision itself was paused). */
export function syncWorkerDeathError(channel: WorkerChannel, pid: number, seqId: number): PhoenixError {
  // Nobody has reaped the child yet (the event loop waits behind callSync): the kernel's record of how it is
  // ending names the signal or the exit code.
  const status = exitStatusOf(pid);
  const how =
    status?.signal ?? (status?.code === null || status === null ? 'unknown cause' : `exit code ${status.code}`);
  return new PhoenixError(
    'ERR_PHOENIX_WORKER_CRASHED',
    `worker ${channel.group}[${channel.index}] (pid ${pid}) died (${how}) while callSync waited for request ${seqId}`,
    {
      group: channel.group,
      workerIndex: channel.index,
      pid,
      signal: status?.signal ?? null,
      exitCode: status?.code ?? null,
      reason: 'exit',
      seqId,
      attempt: 1,
    },
  );
}
