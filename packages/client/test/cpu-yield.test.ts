import { describe, expect, it } from 'vitest';
import { CpuYield } from '../src/internal.js';

/**
 * A CpuYield on a clock of its own: a quick yield leaves the clock alone
 * (nobody else wanted the CPU), a switched one moves it past SWITCHED_US
 * (another thread ran meanwhile). No real time is measured.
 */
function cpuWithFakeClock() {
  const state = { nowMs: 0, switches: false, yields: 0 };
  const cpu = new CpuYield(
    () => {
      state.yields++;
      if (state.switches) state.nowMs += (2 * CpuYield.SWITCHED_US) / 1000;
    },
    () => state.nowMs,
  );
  return { cpu, state };
}

describe('CpuYield', () => {
  it('yields at every offer while yields give the CPU away', () => {
    const { cpu, state } = cpuWithFakeClock();
    state.switches = true;
    for (let i = 0; i < 50; i++) cpu.offer();
    expect(state.yields).toBe(50);
    expect(cpu.paying).toBe(true);
  });

  it('stops yielding after QUICK_IN_A_ROW quick yields, and then only probes once in PROBE_EVERY offers', () => {
    const { cpu, state } = cpuWithFakeClock();
    for (let i = 0; i < CpuYield.QUICK_IN_A_ROW - 1; i++) cpu.offer();
    expect(cpu.paying).toBe(true);
    cpu.offer();
    expect(cpu.paying).toBe(false);
    state.yields = 0;
    for (let i = 0; i < 10 * CpuYield.PROBE_EVERY; i++) cpu.offer();
    expect(state.yields).toBe(10);
    expect(cpu.paying).toBe(false);
  });

  it('a probe that gives the CPU away turns yielding back on, and the quick ones are counted afresh', () => {
    const { cpu, state } = cpuWithFakeClock();
    for (let i = 0; i < CpuYield.QUICK_IN_A_ROW; i++) cpu.offer();
    expect(cpu.paying).toBe(false);
    state.switches = true;
    for (let i = 0; i < CpuYield.PROBE_EVERY; i++) cpu.offer();
    expect(cpu.paying).toBe(true);
    state.switches = false;
    for (let i = 0; i < CpuYield.QUICK_IN_A_ROW - 1; i++) cpu.offer();
    expect(cpu.paying).toBe(true);
    cpu.offer();
    expect(cpu.paying).toBe(false);
  });

  it('measures its yields with the real clock by default', () => {
    let yields = 0;
    const cpu = new CpuYield(() => yields++);
    cpu.offer();
    expect(yields).toBe(1);
  });
});
