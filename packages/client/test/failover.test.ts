import { PhoenixError, RequestState, type SegmentViews } from '@phoenix-ipc/shm-layout';
import { describe, expect, it } from 'vitest';
import type { RequestBytes } from '../src/call-options.js';
import { type FailoverHost, moveOffDeadWorker } from '../src/failover.js';
import type { InFlightTable } from '../src/in-flight-table.js';
import { PendingCall, PendingCallPool } from '../src/pending-call.js';
import type { RequestWriter } from '../src/request-writer.js';
import { WaitingCalls } from '../src/waiting-calls.js';

const DEAD = 0;

/** Two calls written to worker DEAD, and a host whose sibling check and rewrite the test decides. */
function deadWorkerWithCalls(rewrite: FailoverHost['rewrite']) {
  const calls = [new PendingCall(), new PendingCall()];
  calls.forEach((call, i) => {
    call.seqId = i + 1;
    call.worker = DEAD;
    call.frame = 64 * i;
  });
  const moved: PendingCall[] = [];
  const settled: [PendingCall, PhoenixError][] = [];
  const waiting = new WaitingCalls(new PendingCallPool());
  const host: FailoverHost = {
    table: { callsTo: () => calls } as unknown as InFlightTable,
    writer: {
      payloadOf: () => new Uint8Array([1, 2, 3]),
      cancel: (call: PendingCall, to: number) => {
        if (to === RequestState.Moved) moved.push(call);
        return true;
      },
    } as unknown as RequestWriter,
    waiting,
    views: { words: new Int32Array(64) } as unknown as SegmentViews,
    hasRunningSibling: () => true,
    rewrite,
    settle: (call, error) => settled.push([call, error]),
  };
  return { host, calls, moved, settled, waiting };
}

describe('moveOffDeadWorker', () => {
  it("moves the dead worker's calls to the running sibling", () => {
    const written: RequestBytes[] = [];
    const { host, moved, settled, waiting } = deadWorkerWithCalls((_call, payload) => written.push(payload) > 0);
    expect(moveOffDeadWorker(host, DEAD)).toBe(2);
    expect(moved).toHaveLength(2);
    expect(written).toHaveLength(2);
    expect(settled).toHaveLength(0);
    expect(waiting.count).toBe(0);
  });

  it('a call whose sibling died too before it could be moved waits for a worker instead of failing', () => {
    const { host, calls, moved, settled, waiting } = deadWorkerWithCalls(() => {
      throw new PhoenixError('ERR_PHOENIX_UNAVAILABLE', 'no normal worker can serve the call');
    });
    expect(moveOffDeadWorker(host, DEAD)).toBe(2);
    expect(moved).toHaveLength(2); // the dead worker's replacement will not run them
    expect(settled).toHaveLength(0);
    expect(waiting.count).toBe(2);
    expect(calls.every((call) => !call.settled && call.payload !== undefined)).toBe(true);
  });

  it('a call the sibling has no room for waits too', () => {
    const { host, settled, waiting } = deadWorkerWithCalls(() => false);
    moveOffDeadWorker(host, DEAD);
    expect(settled).toHaveLength(0);
    expect(waiting.count).toBe(2);
  });
});
