import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { AdaptiveSpin, CpuYield, SpinThenPark } from '../src/internal.js';

const PARKED = 0;

/** A waiter over a private PARKED word, counting the times it gave its CPU away. */
function waiterFor(strategy: 'adaptive' | 'spin' | 'block', budgetUs = 100) {
  const counts = { yields: 0 };
  const words = new Int32Array(new SharedArrayBuffer(4));
  const cpu = new CpuYield(() => counts.yields++);
  const waiter = new SpinThenPark(strategy, words, PARKED, new AdaptiveSpin(strategy, budgetUs), cpu);
  return { waiter, counts, words };
}

/** An 'adaptive' waiter whose budget records what it is taught (the waits of spins that found work). */
function learningWaiter(budgetUs: number) {
  const waits: number[] = [];
  class Spy extends AdaptiveSpin {
    override succeeded(waitedUs: number): void {
      waits.push(waitedUs);
    }
  }
  const words = new Int32Array(new SharedArrayBuffer(4));
  const waiter = new SpinThenPark('adaptive', words, PARKED, new Spy('adaptive', budgetUs), new CpuYield(() => {}));
  return { waiter, waits };
}

/** A poll that finds work once `afterUs` have passed. */
function workAfter(afterUs: number): () => boolean {
  const due = performance.now() + afterUs / 1000;
  return () => performance.now() >= due;
}

describe('SpinThenPark', () => {
  it("an 'adaptive' spin that waits past YIELD_AFTER_US offers its CPU while it goes on polling", () => {
    const { waiter, counts } = waiterFor('adaptive', 5000);
    // The work shows up only once the spin has yielded: a spin that never yields runs out of budget.
    expect(waiter.spin(() => counts.yields > 0, 5000)).toBe(true);
  });

  it("an 'adaptive' spin given no CpuYield polls out its whole budget without giving its CPU away", () => {
    const words = new Int32Array(new SharedArrayBuffer(4));
    const waiter = new SpinThenPark('adaptive', words, PARKED, new AdaptiveSpin('adaptive', 2000), null);
    const start = performance.now();
    // Past YIELD_AFTER_US a waiter with a CpuYield would offer it; this one has none to call.
    expect(waiter.spin(() => false, 5000)).toBe(false);
    expect(performance.now() - start).toBeGreaterThanOrEqual(2);
  });

  it("an 'adaptive' spin that finds work at once never yields", () => {
    const { waiter, counts } = waiterFor('adaptive', 100);
    expect(waiter.spin(() => true, 1000)).toBe(true);
    expect(counts.yields).toBe(0);
  });

  it.each([
    ['spin gives up after its learned budget', 2000, (waiter: SpinThenPark) => waiter.spin(() => false, 5000)],
    [
      'spinOn gives up after the time it is given, past the budget',
      10,
      (waiter: SpinThenPark) => waiter.spinOn(() => false, 2000),
    ],
  ])("an 'adaptive' %s when it finds nothing, yielding on the way", (_, budgetUs, spinTwoMs) => {
    const { waiter, counts } = waiterFor('adaptive', budgetUs);
    const start = performance.now();
    expect(spinTwoMs(waiter)).toBe(false);
    expect(performance.now() - start).toBeGreaterThanOrEqual(2);
    expect(counts.yields).toBeGreaterThan(0);
  });

  it('a spin that found work teaches the budget the time it had seen at its last look at the clock', () => {
    const { waiter, waits } = learningWaiter(1000);
    // Found within the first polls: no clock was read, so nothing is learned.
    expect(waiter.spin(() => true, 1000)).toBe(true);
    expect(waits).toEqual([]);
    // Found after 200 polls: credited with the time seen at a look no more than 16 polls before.
    let polls = 0;
    const start = performance.now();
    expect(waiter.spin(() => ++polls > 200, 1000)).toBe(true);
    const elapsedUs = (performance.now() - start) * 1000;
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(0);
    expect(waits[0]).toBeLessThanOrEqual(elapsedUs);
  });

  it('spinOn finds work that comes past the learned budget, teaches that budget nothing, and given no time does not poll', () => {
    const { waiter, waits } = learningWaiter(10);
    expect(waiter.spinOn(workAfter(500), 5000)).toBe(true);
    let polls = 0;
    expect(waiter.spinOn(() => ++polls > 200, 1000)).toBe(true);
    expect(waits).toEqual([]);
    polls = 0;
    expect(waiter.spinOn(() => ++polls > 0, 0)).toBe(false);
    expect(polls).toBe(0);
  });

  it("'spin' never yields: it is for spare cores, where a yield is only a syscall", () => {
    const { waiter, counts } = waiterFor('spin');
    // Due well past YIELD_AFTER_US, in a generous slice: a spin preempted past its slice would return early.
    expect(waiter.spin(workAfter(200 + 40 * SpinThenPark.YIELD_AFTER_US), 50_000)).toBe(true);
    expect(counts.yields).toBe(0);
  });

  it("'block' does not spin at all", () => {
    const { waiter, counts } = waiterFor('block');
    let polls = 0;
    expect(waiter.spin(() => ++polls > 0, 1000)).toBe(false);
    expect(polls).toBe(0);
    expect(counts.yields).toBe(0);
  });

  it("'adaptive' gives its CPU once to a peer it has just woken, even with no CpuYield (the supervisor)", () => {
    const words = new Int32Array(new SharedArrayBuffer(4));
    let yields = 0;
    const waiter = new SpinThenPark('adaptive', words, PARKED, new AdaptiveSpin('adaptive'), null, () => yields++);
    waiter.yieldToWokenPeer();
    expect(yields).toBe(1);
  });

  it("'block' and 'spin' never yield to a woken peer: one parks at once, the other keeps its core", () => {
    for (const strategy of ['block', 'spin'] as const) {
      const words = new Int32Array(new SharedArrayBuffer(4));
      let yields = 0;
      const waiter = new SpinThenPark(
        strategy,
        words,
        PARKED,
        new AdaptiveSpin(strategy),
        new CpuYield(),
        () => yields++,
      );
      waiter.yieldToWokenPeer();
      expect(yields, strategy).toBe(0);
    }
  });

  it('park publishes PARKED and takes it back if work arrived meanwhile', () => {
    const { waiter, words } = waiterFor('adaptive');
    expect(waiter.park(() => true)).toBe(false);
    expect(words[PARKED]).toBe(0);
    expect(waiter.park(() => false)).toBe(true);
    expect(words[PARKED]).toBe(1);
    expect(waiter.parked).toBe(true);
    waiter.wake();
    expect(words[PARKED]).toBe(0);
    expect(waiter.parked).toBe(false);
  });
});
