import { describe, expect, it } from 'vitest';
import { AdaptiveSpin, runnableThreads } from '../src/internal.js';

describe('AdaptiveSpin', () => {
  it("'spin' never parks and 'block' parks at once", () => {
    expect(new AdaptiveSpin('spin').budgetUs).toBe(Number.POSITIVE_INFINITY);
    expect(new AdaptiveSpin('block').budgetUs).toBe(0);
  });

  it("'adaptive' starts with the initial budget", () => {
    expect(new AdaptiveSpin('adaptive').budgetUs).toBe(AdaptiveSpin.INITIAL_US);
  });

  it('a spin that found work late raises the budget to twice the wait, up to the ceiling', () => {
    const spin = new AdaptiveSpin('adaptive', 10);
    spin.succeeded(30);
    expect(spin.budgetUs).toBe(60);
    spin.succeeded(1000);
    expect(spin.budgetUs).toBe(AdaptiveSpin.CEILING_US);
  });

  it('a short park raises the budget to cover the wake-up it paid', () => {
    const spin = new AdaptiveSpin('adaptive', 10);
    spin.parked(1000);
    spin.woke(1000.04); // 40 µs
    expect(spin.budgetUs).toBeCloseTo(50, 5);
  });

  it('long parks (an idle peer) decay the budget towards the floor', () => {
    const spin = new AdaptiveSpin('adaptive');
    for (let i = 0; i < 200; i++) {
      spin.parked(i * 100);
      spin.woke(i * 100 + 50); // 50 ms asleep
    }
    expect(spin.budgetUs).toBe(AdaptiveSpin.FLOOR_US);
  });

  it('a wake without a park changes nothing', () => {
    const spin = new AdaptiveSpin('adaptive', 20);
    spin.woke(5);
    expect(spin.budgetUs).toBe(20);
  });

  it("'block' and 'spin' do not learn", () => {
    const block = new AdaptiveSpin('block');
    block.succeeded(50);
    block.parked(0);
    block.woke(0.01);
    expect(block.budgetUs).toBe(0);
  });

  it('drops to the floor budget while two or more threads beyond the CPUs stay runnable', () => {
    let runnable = 2;
    const spin = new AdaptiveSpin('adaptive', 80, () => runnable, 2);
    const step = AdaptiveSpin.LOAD_CHECK_MS;
    expect(spin.budgetAt(0)).toBe(80);
    runnable = 6;
    expect(spin.budgetAt(1)).toBe(80); // not re-checked before LOAD_CHECK_MS
    expect(spin.budgetAt(step)).toBe(80); // one crowded check is not enough
    expect(spin.budgetAt(2 * step)).toBe(AdaptiveSpin.FLOOR_US);
    expect(spin.contended).toBe(true);
    runnable = 3; // one beyond the CPUs: routine
    expect(spin.budgetAt(3 * step)).toBe(80); // the learnt budget is kept
    expect(spin.contended).toBe(false);
  });

  it('does not guess contention where the machine cannot tell', () => {
    const spin = new AdaptiveSpin('adaptive', 80, () => null, 1);
    expect(spin.budgetAt(0)).toBe(80);
  });

  it("'spin' and 'block' ignore the machine's load", () => {
    expect(new AdaptiveSpin('spin', 50, () => 99, 1).budgetAt(0)).toBe(Number.POSITIVE_INFINITY);
    expect(new AdaptiveSpin('block', 50, () => 99, 1).budgetAt(0)).toBe(0);
  });

  it('reads the runnable thread count of this machine', () => {
    const runnable = runnableThreads();
    if (process.platform === 'linux') expect(runnable).toBeGreaterThanOrEqual(1);
    else expect(runnable).toBeNull();
  });
});
