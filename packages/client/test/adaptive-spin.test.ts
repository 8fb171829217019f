import { describe, expect, it } from 'vitest';
import { AdaptiveSpin } from '../src/internal.js';

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
});
