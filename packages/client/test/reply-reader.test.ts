import { Frames, PhoenixShmLayout, RESPONSE_FRAME_BYTES } from '@phoenix-ipc/shm-layout';
import { describe, expect, it } from 'vitest';
import { InFlightTable } from '../src/in-flight-table.js';
import { PendingCallPool } from '../src/pending-call.js';
import { ReplyReader } from '../src/reply-reader.js';

const SLOT = 1;

/**
 * A reader over an in-memory segment with two workers, `inFlight[w]` calls
 * in flight to worker w, each of them already answered in w's response ring.
 */
function readerWithAnsweredCalls(inFlight: readonly number[]) {
  const options = { normalWorkers: 2, vipWorkers: 0, maxClients: 2 };
  const layout = PhoenixShmLayout.format(new SharedArrayBuffer(PhoenixShmLayout.requiredSize(options)), options);
  const pool = new PendingCallPool();
  const table = new InFlightTable(layout, SLOT, pool);
  const settled: number[] = [];
  const corrupted: { worker: number; code: string }[] = [];
  const reader = new ReplyReader(layout, SLOT, table, new Uint8Array(2), {
    observed: false,
    settle: (call) => {
      settled.push(call.seqId);
    },
    corrupt: (worker, error) => {
      corrupted.push({ worker, code: error.code });
    },
    roomMade: () => {},
  });
  let seqId = 100;
  /** Each reply's frame offset, per worker. */
  const frames: number[][] = inFlight.map(() => []);
  for (let worker = 0; worker < inFlight.length; worker++) {
    const ring = layout.channels[worker]!.responseRing(SLOT);
    for (let i = 0; i < inFlight[worker]!; i++) {
      const call = pool.acquire();
      call.seqId = ++seqId;
      call.worker = worker;
      table.add(call);
      const frame = ring.reserve(RESPONSE_FRAME_BYTES);
      frames[worker]!.push(frame);
      Frames.writeResponseFrame(layout.views.words, frame, call.seqId, 1001, 0, false, 0, 0);
      ring.commit(RESPONSE_FRAME_BYTES);
    }
    ring.flush();
  }
  return { reader, table, settled, corrupted, frames, words: layout.views.words };
}

describe('ReplyReader.drain', () => {
  it('reads at most half of the calls in flight to a worker, rounded up, so the worker keeps work', () => {
    const { reader, table } = readerWithAnsweredCalls([8]);
    expect([reader.drain(), reader.drain(), reader.drain(), reader.drain(), reader.drain()]).toEqual([4, 2, 1, 1, 0]);
    expect(table.size).toBe(0);
  });

  it('reads the one reply of a caller with one call in flight', () => {
    const { reader, settled } = readerWithAnsweredCalls([1]);
    expect(reader.drain()).toBe(1);
    expect(settled).toEqual([101]);
  });

  it('takes each worker half of its own calls in flight, in the order they were answered', () => {
    const { reader, settled } = readerWithAnsweredCalls([4, 3]);
    expect(reader.drain()).toBe(2 + 2);
    expect(settled).toEqual([101, 102, 105, 106]);
    expect(reader.drain()).toBe(1 + 1);
    expect(reader.drain()).toBe(1);
    expect(settled).toEqual([101, 102, 105, 106, 103, 107, 104]);
  });

  it('reports a corrupt record right after a capped read as a corrupt channel, and never throws', () => {
    const { reader, settled, corrupted, frames, words } = readerWithAnsweredCalls([4]);
    // The third reply's record type (the word before its frame) turns to garbage: the first look reads two
    // replies, then finds it while checking whether more are waiting.
    words[(frames[0]![2]! - 4) >> 2] = 0;
    expect(() => reader.drain()).not.toThrow();
    expect(settled).toEqual([101, 102]);
    expect(corrupted).toEqual([{ worker: 0, code: 'ERR_PHOENIX_BAD_RING' }]);
  });
});
