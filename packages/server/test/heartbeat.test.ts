import { afterEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../src/heartbeat.js';

function heartbeat(idleMaxMs: number) {
  const ticks: number[] = [];
  let inFlight = false;
  const beat = new Heartbeat({
    activeMs: 1000,
    idleMaxMs,
    tick: () => ticks.push(Date.now()),
    busy: () => inFlight,
  });
  const gaps = () => ticks.map((at, i) => at - (i === 0 ? start : ticks[i - 1]!));
  const start = Date.now();
  return { beat, ticks, gaps, setInFlight: (value: boolean) => (inFlight = value) };
}

describe('Heartbeat', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ticks every second while a tick finds requests in flight, moving or not', () => {
    vi.useFakeTimers();
    const { beat, gaps, setInFlight } = heartbeat(8000);
    setInFlight(true);
    beat.start();
    vi.advanceTimersByTime(4000);
    expect(gaps()).toEqual([1000, 1000, 1000, 1000]);
    beat.stop();
  });

  it('waits idleMaxMs from the first tick that finds nothing in flight (one wake-up, not a back-off of several)', () => {
    vi.useFakeTimers();
    const { beat, gaps } = heartbeat(8000);
    beat.start();
    beat.start();
    vi.advanceTimersByTime(1000 + 8000 + 8000);
    expect(gaps()).toEqual([1000, 8000, 8000]);
    beat.stop();
  });

  it('comes back to one second at the first tick that finds requests in flight', () => {
    vi.useFakeTimers();
    const { beat, gaps, setInFlight } = heartbeat(8000);
    beat.start();
    vi.advanceTimersByTime(1000 + 8000);
    setInFlight(true);
    vi.advanceTimersByTime(8000 + 1000 + 1000);
    setInFlight(false);
    vi.advanceTimersByTime(1000 + 8000);
    // The tick that finds requests in flight arms one second; the first that finds none, idleMaxMs.
    expect(gaps()).toEqual([1000, 8000, 8000, 1000, 1000, 1000, 8000]);
    beat.stop();
  });

  it('never waits longer than idleMaxMs (the hang watch bound)', () => {
    vi.useFakeTimers();
    const { beat, gaps } = heartbeat(3000);
    beat.start();
    vi.advanceTimersByTime(1000 + 3000 + 3000);
    expect(gaps()).toEqual([1000, 3000, 3000]);
    beat.stop();
  });

  it('does not tick after stop(), even when stopped from its own tick', () => {
    vi.useFakeTimers();
    const ticks: number[] = [];
    const beat = new Heartbeat({
      activeMs: 1000,
      idleMaxMs: 8000,
      tick: () => ticks.push(1) && beat.stop(),
      busy: () => false,
    });
    beat.start();
    vi.advanceTimersByTime(60_000);
    expect(ticks).toHaveLength(1);
  });
});
