import { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { mulberry32Words } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { InFlightTable } from '../src/in-flight-table.js';
import { Hold, PendingCall, PendingCallPool } from '../src/pending-call.js';

function table(pool = new PendingCallPool()): {
  table: InFlightTable;
  layout: PhoenixShmLayout;
  pool: PendingCallPool;
} {
  const options = { normalWorkers: 2, vipWorkers: 0, maxClients: 2 };
  const layout = PhoenixShmLayout.format(new SharedArrayBuffer(PhoenixShmLayout.requiredSize(options)), options);
  return { table: new InFlightTable(layout, 1, pool), layout, pool };
}

function callOf(pool: PendingCallPool, seqId: number, worker = 0): PendingCall {
  const call = pool.acquire();
  call.seqId = seqId;
  call.worker = worker;
  return call;
}

describe('InFlightTable', () => {
  it('finds every call by seq id through collisions, removals and growth', () => {
    const { table: calls, pool } = table();
    const live = new Map<number, PendingCall>();
    const random = mulberry32Words(7);
    for (let step = 0; step < 20_000; step++) {
      // Seq ids spread so that many share a home slot (multiples of 256 apart) and some are huge.
      const seqId = (random() % 64) * 256 + (random() % 3) + (step % 5 === 0 ? 2 ** 40 : 0);
      if (live.has(seqId)) {
        calls.remove(live.get(seqId)!);
        live.delete(seqId);
      } else if (live.size < 900) {
        const call = callOf(pool, seqId, seqId & 1);
        calls.add(call);
        live.set(seqId, call);
      }
      if (step % 97 === 0) {
        for (const [id, call] of live) expect(calls.get(id)).toBe(call);
        expect(calls.size).toBe(live.size);
        expect(calls.countTo(0) + calls.countTo(1)).toBe(live.size);
      }
    }
    for (const [id, call] of live) expect(calls.get(id)).toBe(call);
    expect(calls.get(123_456_789)).toBeUndefined();
    expect(calls.values().length).toBe(live.size);
  });

  it('finds every call when consecutive seq ids wrap around the table past a few long-lived calls', () => {
    // Pipelined traffic: a window of consecutive seq ids moves on, while a few calls stay for a long time, so
    // the window collides with them and then clears again (the table's no-collision fast path comes and goes).
    const { table: calls, pool } = table();
    const live = new Map<number, PendingCall>();
    const random = mulberry32Words(11);
    for (let seqId = 1; seqId <= 30_000; seqId++) {
      const call = callOf(pool, seqId);
      calls.add(call);
      live.set(seqId, call);
      const oldest = seqId - 64;
      // One call in 50 lives for about 300 more calls (past the table's 256 slots).
      if (oldest > 0 && live.has(oldest) && oldest % 50 !== 0) {
        calls.remove(live.get(oldest)!);
        live.delete(oldest);
      }
      const lingering = seqId - 300 - (random() % 50);
      if (lingering > 0 && lingering % 50 === 0 && live.has(lingering)) {
        calls.remove(live.get(lingering)!);
        live.delete(lingering);
      }
      if (seqId % 37 === 0) {
        for (const [id, entry] of live) expect(calls.get(id)).toBe(entry);
        expect(calls.size).toBe(live.size);
      }
    }
    for (const [id, entry] of live) expect(calls.get(id)).toBe(entry);
  });

  it('publishes PENDING and OUTSTANDING once per burst, counting what it has not published as unpublished load', () => {
    const { table: calls, layout, pool } = table();
    const a = callOf(pool, 10, 1);
    const b = callOf(pool, 11, 1);
    calls.add(a);
    calls.add(b);
    expect(layout.channels[1]!.pending).toBe(0);
    expect(calls.unpublished[1]).toBe(2);
    calls.publishCounts();
    expect(layout.channels[1]!.pending).toBe(2);
    expect(layout.getSlot(1).outstanding(1)).toBe(2);
    expect(calls.unpublished[1]).toBe(0);
    calls.removeInBatch(b);
    expect(layout.channels[1]!.pending).toBe(2);
    calls.publishCounts();
    expect(layout.channels[1]!.pending).toBe(1);
    expect(layout.getSlot(1).outstanding(1)).toBe(1);
  });

  it('publishes a removal outside a batch at once, and only once', () => {
    const { table: calls, layout, pool } = table();
    const a = callOf(pool, 10, 1);
    const b = callOf(pool, 11, 1);
    calls.add(a);
    calls.add(b);
    calls.publishCounts();
    calls.remove(a);
    calls.remove(a); // a second removal changes nothing
    expect(layout.channels[1]!.pending).toBe(1);
    expect(calls.countTo(1)).toBe(1);
  });
});

describe('PendingCallPool', () => {
  it('takes a call back only when its last hold is cleared, and reuses it reset', () => {
    const pool = new PendingCallPool();
    const call = pool.acquire();
    call.seqId = 5;
    call.holds |= Hold.InFlight | Hold.Deadline;
    call.settled = true;
    pool.drop(call, Hold.Live);
    pool.drop(call, Hold.InFlight);
    expect(pool.size).toBe(0);
    pool.drop(call, Hold.Deadline);
    expect(pool.size).toBe(1);
    // Released but not yet reused: still reads as settled, so late code leaves it alone.
    expect(call.settled).toBe(true);
    pool.drop(call, Hold.Deadline); // no double release
    expect(pool.size).toBe(1);
    const generation = call.generation;
    const again = pool.acquire();
    expect(again).toBe(call);
    expect(again.generation).toBe(generation + 1);
    expect(again.settled).toBe(false);
    expect(again.seqId).toBe(0);
    expect(again.holds).toBe(Hold.Live);
  });

  it('never reuses an unpooled call', () => {
    const pool = new PendingCallPool();
    const call = new PendingCall();
    call.pooled = false;
    call.holds = Hold.Live;
    pool.drop(call, Hold.Live);
    expect(pool.size).toBe(0);
  });
});
