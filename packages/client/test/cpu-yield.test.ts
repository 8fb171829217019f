import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { CpuYield } from '../src/internal.js';

/** A yield that comes back at once: nobody else wanted the CPU. */
const quick = () => {};

/** A yield that comes back after another thread ran for `us`. */
function switchedFor(us: number): () => void {
  return () => {
    const until = performance.now() + us / 1000;
    while (performance.now() < until);
  };
}

describe('CpuYield', () => {
  it('yields at every offer while yields give the CPU away', () => {
    let yields = 0;
    const switched = switchedFor(2 * CpuYield.SWITCHED_US);
    const cpu = new CpuYield(() => {
      yields++;
      switched();
    });
    for (let i = 0; i < 50; i++) cpu.offer();
    expect(yields).toBe(50);
    expect(cpu.paying).toBe(true);
  });

  it('stops yielding after QUICK_IN_A_ROW quick yields, and then only probes once in PROBE_EVERY offers', () => {
    let yields = 0;
    const cpu = new CpuYield(() => yields++);
    stopPaying(cpu);
    yields = 0;
    for (let i = 0; i < 10 * CpuYield.PROBE_EVERY; i++) cpu.offer();
    expect(yields).toBe(10);
    expect(cpu.paying).toBe(false);
  });

  it('a probe that gives the CPU away turns yielding back on, and the quick ones are counted afresh', () => {
    let slow = false;
    const switched = switchedFor(2 * CpuYield.SWITCHED_US);
    const cpu = new CpuYield(() => (slow ? switched() : quick()));
    stopPaying(cpu);
    slow = true;
    for (let i = 0; i < CpuYield.PROBE_EVERY; i++) cpu.offer();
    expect(cpu.paying).toBe(true);
    slow = false;
    for (let i = 0; i < CpuYield.QUICK_IN_A_ROW - 1; i++) cpu.offer();
    expect(cpu.paying).toBe(true);
    cpu.offer();
    expect(cpu.paying).toBe(false);
  });
});

/** Offers quick yields until yielding stops paying (the first ones may look slow while the code is cold). */
function stopPaying(cpu: CpuYield): void {
  for (let i = 0; cpu.paying && i < 100; i++) cpu.offer();
  expect(cpu.paying).toBe(false);
}
