import { Frames, PhoenixError, RequestState, type SegmentViews } from '@phoenix-ipc/shm-layout';
import type { RequestBytes } from './call-options.js';
import type { InFlightTable } from './in-flight-table.js';
import type { PendingCall } from './pending-call.js';
import type { RequestWriter } from './request-writer.js';
import type { WaitingCalls } from './waiting-calls.js';

/** What failover needs from the caller it works for. */
export interface FailoverHost {
  readonly table: InFlightTable;
  readonly writer: RequestWriter;
  readonly waiting: WaitingCalls;
  readonly views: SegmentViews;
  /** Whether a running sibling of `worker`'s group can take its requests. */
  hasRunningSibling(worker: number): boolean;
  /** Writes the call to the least-loaded running sibling (never `exclude`); false when none has room. Throws UNAVAILABLE. */
  rewrite(call: PendingCall, payload: RequestBytes, exclude: number): boolean;
  settle(call: PendingCall, error: PhoenixError): void;
}

/**
 * Worker `dead` died: its unstarted requests from this caller move to a
 * running sibling of its group, each by one PENDING -> MOVED swap, so a
 * request either moves or is run by the replacement, never both. With no
 * running sibling they stay and wait for the replacement; one that finds the
 * sibling full, or dead by now, joins the calls waiting for space. Calls that
 * already timed out are cancelled instead. Returns how many moved.
 */
export function moveOffDeadWorker(host: FailoverHost, dead: number): number {
  const calls = host.table.callsTo(dead);
  if (calls.length === 0) return 0;
  const hasSibling = host.hasRunningSibling(dead);
  const words = host.views.words;
  let moved = 0;
  for (const call of calls) {
    if (call.settled) {
      host.writer.cancel(call, RequestState.Cancelled);
      continue;
    }
    if (!hasSibling) continue;
    const attempt = Frames.requestAttempt(words, call.frame);
    const payload = host.writer.payloadOf(call);
    if (!host.writer.cancel(call, RequestState.Moved)) continue;
    call.worker = -1;
    let written = false;
    try {
      written = host.rewrite(call, payload, dead);
    } catch {
      // The sibling seen running above died meanwhile (a restart is not the
      // end of the group): the call waits like one that found no room, and
      // the waiting calls' dispatch fails it only if no worker of the group
      // can ever answer (its request here is MOVED: nobody else runs it).
    }
    if (!written) host.waiting.unshift(call, payload);
    else if (attempt > 1) Frames.setRequestAttempt(words, call.frame, attempt);
    moved++;
  }
  return moved;
}

/**
 * A channel this caller may not touch until it is formatted again (its
 * response ring failed validation, or the supervisor resets it): every call
 * written to it fails with ERR_PHOENIX_BAD_RING, outcome unknown.
 */
export function failChannel(host: FailoverHost, worker: number, message: string): void {
  host.writer.discard(worker);
  for (const call of host.table.callsTo(worker)) {
    host.table.remove(call);
    host.settle(
      call,
      new PhoenixError(
        'ERR_PHOENIX_BAD_RING',
        `the channel to worker ${worker} is corrupt (${message}); the call's outcome is unknown`,
        { seqId: call.seqId, funcId: call.funcId },
      ),
    );
  }
}
