import { afterEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../src/heartbeat.js';

function heartbeat(idleMaxMs: number) {
  const ticks: number[] = [];
  let served = 0;
  let inFlight = false;
  const beat = new Heartbeat({
    activeMs: 1000,
    idleMaxMs,
    tick: () => ticks.push(Date.now()),
    activity: () => served,
    busy: () => inFlight,
  });
  const gaps = () => ticks.map((at, i) => at - (i === 0 ? start : ticks[i - 1]!));
  const start = Date.now();
  return { beat, ticks, gaps, serve: () => served++, setInFlight: (value: boolean) => (inFlight = value) };
}

describe('Heartbeat', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ticks every second while requests are served', () => {
    vi.useFakeTimers();
    const { beat, gaps, serve } = heartbeat(8000);
    beat.start();
    for (let i = 0; i < 4; i++) {
      serve();
      vi.advanceTimersByTime(1000);
    }
    expect(gaps()).toEqual([1000, 1000, 1000, 1000]);
    beat.stop();
  });

  it('backs off, doubling up to idleMaxMs, while nothing is served', () => {
    vi.useFakeTimers();
    const { beat, gaps } = heartbeat(8000);
    beat.start();
    vi.advanceTimersByTime(1000 + 2000 + 4000 + 8000 + 8000);
    expect(gaps()).toEqual([1000, 2000, 4000, 8000, 8000]);
    beat.stop();
  });

  it('comes back to one second at the first tick after traffic resumes', () => {
    vi.useFakeTimers();
    const { beat, gaps, serve } = heartbeat(8000);
    beat.start();
    vi.advanceTimersByTime(1000 + 2000 + 4000);
    serve();
    vi.advanceTimersByTime(8000 + 1000);
    expect(gaps()).toEqual([1000, 2000, 4000, 8000, 1000]);
    beat.stop();
  });

  it('keeps ticking every second while requests are in flight, even if none moves', () => {
    vi.useFakeTimers();
    const { beat, gaps, setInFlight } = heartbeat(8000);
    beat.start();
    vi.advanceTimersByTime(1000 + 2000);
    setInFlight(true);
    vi.advanceTimersByTime(4000 + 1000 + 1000);
    expect(gaps()).toEqual([1000, 2000, 4000, 1000, 1000]);
    beat.stop();
  });

  it('never waits longer than idleMaxMs (the hang watch bound)', () => {
    vi.useFakeTimers();
    const { beat, gaps } = heartbeat(3000);
    beat.start();
    vi.advanceTimersByTime(1000 + 2000 + 3000 + 3000);
    expect(gaps()).toEqual([1000, 2000, 3000, 3000]);
    beat.stop();
  });

  it('does not tick after stop(), even when stopped from its own tick', () => {
    vi.useFakeTimers();
    const ticks: number[] = [];
    const beat = new Heartbeat({
      activeMs: 1000,
      idleMaxMs: 8000,
      tick: () => ticks.push(1) && beat.stop(),
      activity: () => 0,
      busy: () => false,
    });
    beat.start();
    vi.advanceTimersByTime(60_000);
    expect(ticks).toHaveLength(1);
  });
});
