import { monotonicNowMs } from '@phoenix-ipc/shm-layout';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineTimer } from '../src/deadline-timer.js';
import { type PendingCall, PendingCallPool } from '../src/pending-call.js';

function callWithTimeout(pool: PendingCallPool, timeoutMs: number): PendingCall {
  const call = pool.acquire();
  call.timeoutMs = timeoutMs;
  call.deadline = monotonicNowMs() + timeoutMs;
  return call;
}

describe('DeadlineTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps its timer while calls settle one by one (no timer armed per call)', () => {
    const pool = new PendingCallPool();
    const timer = new DeadlineTimer(() => {}, pool);
    const call = callWithTimeout(pool, 10_000);
    timer.add(call);
    expect(vi.getTimerCount()).toBe(1);
    call.settled = true;
    timer.settled(call);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('lets an idle caller stop the timer once no unsettled call is left, so a settled call never wakes it', () => {
    const pool = new PendingCallPool();
    const expired: PendingCall[] = [];
    const timer = new DeadlineTimer((call) => expired.push(call), pool);
    const call = callWithTimeout(pool, 10_000);
    timer.add(call);
    call.settled = true;
    timer.settled(call);
    timer.stopIfNoneLeft();
    expect(vi.getTimerCount()).toBe(0);
    // The next call arms it again.
    const next = callWithTimeout(pool, 50);
    timer.add(next);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('keeps the timer while a call is still unsettled', () => {
    const pool = new PendingCallPool();
    const timer = new DeadlineTimer(() => {}, pool);
    const done = callWithTimeout(pool, 1000);
    const waiting = callWithTimeout(pool, 5000);
    timer.add(done);
    timer.add(waiting);
    done.settled = true;
    timer.settled(done);
    timer.stopIfNoneLeft();
    expect(vi.getTimerCount()).toBe(1);
  });
});
