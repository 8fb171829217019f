import { describe, expect, it } from 'vitest';
import { BurstReadings, leastLoadedWorker, NO_WORKER, WAIT_FOR_WORKER } from '../src/dispatch.js';
import { type PhoenixShmLayout, type WorkerChannel, WorkerState } from '../src/index.js';
import { makeLayout, queueRequests, SMALL } from './helpers.js';

const { Empty, Starting, Running, Restarting, Down, Stopped, Retiring } = WorkerState;

/** Sets each channel's state and pending count (callers' Atomics.add on the PENDING word). */
function setWorkers(layout: PhoenixShmLayout, channels: readonly WorkerChannel[], workers: [WorkerState, number][]) {
  workers.forEach(([state, pending], i) => {
    const channel = channels[i]!;
    channel.state = state;
    Atomics.store(layout.views.words, channel.pendingIndex, 0);
    Atomics.add(layout.views.words, channel.pendingIndex, pending);
  });
}

function normal(workers: [WorkerState, number][]): number {
  const { layout } = makeLayout({ ...SMALL, normalWorkers: workers.length });
  setWorkers(layout, layout.normalChannels, workers);
  return layout.findBestNormalWorker();
}

function vip(workers: [WorkerState, number][]): number {
  const { layout } = makeLayout({ ...SMALL, vipWorkers: workers.length });
  setWorkers(layout, layout.vipChannels, workers);
  return layout.findBestVipWorker();
}

describe.each([
  ['findBestNormalWorker', normal],
  ['findBestVipWorker', vip],
])('%s', (_name, best) => {
  it('picks the RUNNING worker with the fewest pending requests', () => {
    expect(
      best([
        [Running, 3],
        [Running, 1],
        [Running, 2],
        [Running, 5],
      ]),
    ).toBe(1);
    expect(
      best([
        [Running, 4],
        [Running, 4],
        [Running, 0],
      ]),
    ).toBe(2);
  });

  it('breaks ties by the lowest index', () => {
    expect(
      best([
        [Running, 2],
        [Running, 1],
        [Running, 1],
      ]),
    ).toBe(1);
  });

  it('prefers a RUNNING worker over idle STARTING and RESTARTING ones', () => {
    expect(
      best([
        [Starting, 0],
        [Running, 9],
        [Restarting, 0],
        [Empty, 0],
      ]),
    ).toBe(1);
  });

  it('falls back to the least loaded STARTING/RESTARTING/EMPTY worker when none runs', () => {
    expect(
      best([
        [Starting, 5],
        [Restarting, 2],
        [Empty, 3],
        [Down, 0],
      ]),
    ).toBe(1);
    expect(
      best([
        [Down, 0],
        [Empty, 1],
      ]),
    ).toBe(1);
    expect(
      best([
        [Stopped, 0],
        [Starting, 7],
      ]),
    ).toBe(1);
  });

  it('never picks a DOWN, STOPPED or RETIRING worker while another can serve', () => {
    expect(
      best([
        [Down, 0],
        [Stopped, 0],
        [Retiring, 0],
        [Running, 50],
      ]),
    ).toBe(3);
  });

  it('returns -1 when every worker is DOWN or STOPPED', () => {
    expect(
      best([
        [Down, 0],
        [Stopped, 0],
        [Down, 3],
      ]),
    ).toBe(-1);
  });

  it('follows the pending counts as callers add and remove requests', () => {
    const { layout } = makeLayout({ ...SMALL, normalWorkers: 3, vipWorkers: 3 });
    const channels = best === normal ? layout.normalChannels : layout.vipChannels;
    const pick = () => (best === normal ? layout.findBestNormalWorker() : layout.findBestVipWorker());
    setWorkers(layout, channels, [
      [Running, 0],
      [Running, 0],
      [Running, 0],
    ]);
    const picks: number[] = [];
    for (let i = 0; i < 6; i++) {
      const worker = pick();
      picks.push(worker);
      Atomics.add(layout.views.words, channels[worker]!.pendingIndex, 1);
    }
    expect(picks).toEqual([0, 1, 2, 0, 1, 2]);
    Atomics.sub(layout.views.words, channels[2]!.pendingIndex, 2);
    expect(pick()).toBe(2);
  });

  it('treats a pending count driven below zero as zero', () => {
    expect(
      best([
        [Running, 0],
        [Running, -5],
      ]),
    ).toBe(0);
  });
});

describe('findBestNormalWorker over requests written straight into the rings (no PENDING counts kept)', () => {
  it('picks the worker with the fewest requests in its rings', () => {
    const { layout } = makeLayout({ ...SMALL, normalWorkers: 3 });
    setWorkers(layout, layout.normalChannels, [
      [Running, 0],
      [Running, 0],
      [Running, 0],
    ]);
    let seqId = 1;
    const load = (index: number, count: number, slot: number) =>
      queueRequests(
        layout,
        layout.getNormalChannel(index),
        slot,
        Array.from({ length: count }, () => ({ seqId: seqId++, funcId: 1001 })),
      );
    load(0, 3, 0);
    load(1, 1, 0);
    load(1, 1, 1);
    expect(layout.findBestNormalWorker()).toBe(2);
    load(2, 3, 1);
    expect(layout.findBestNormalWorker()).toBe(1);
  });

  it('counts a worker by the larger of its PENDING count and its rings', () => {
    const { layout } = makeLayout({ ...SMALL, normalWorkers: 2 });
    setWorkers(layout, layout.normalChannels, [
      [Running, 4],
      [Running, 0],
    ]);
    queueRequests(
      layout,
      layout.getNormalChannel(1),
      0,
      [1, 2, 3, 4, 5].map((seqId) => ({ seqId, funcId: 1001 })),
    );
    expect(layout.findBestNormalWorker()).toBe(0);
  });
});

describe('dispatch groups', () => {
  it('fresh segments have every worker EMPTY, so the first of each group is picked', () => {
    const { layout } = makeLayout();
    expect(layout.findBestNormalWorker()).toBe(0);
    expect(layout.findBestVipWorker()).toBe(0);
  });

  it('keep the normal and VIP groups apart', () => {
    const { layout } = makeLayout({ ...SMALL, normalWorkers: 2, vipWorkers: 2 });
    setWorkers(layout, layout.normalChannels, [
      [Down, 0],
      [Down, 0],
    ]);
    setWorkers(layout, layout.vipChannels, [
      [Running, 4],
      [Running, 1],
    ]);
    expect(layout.findBestNormalWorker()).toBe(-1);
    expect(layout.findBestVipWorker()).toBe(1);
  });

  it('findBestVipWorker returns -1 when vipWorkers is 0', () => {
    const { layout } = makeLayout({ ...SMALL, vipWorkers: 0 });
    expect(layout.findBestVipWorker()).toBe(-1);
  });
});

describe('leastLoadedWorker: the rule every caller shares', () => {
  function groupWithLayout(workers: [WorkerState, number][]) {
    const { layout } = makeLayout({ ...SMALL, normalWorkers: workers.length });
    setWorkers(layout, layout.normalChannels, workers);
    return { layout, channels: layout.normalChannels };
  }

  function group(workers: [WorkerState, number][]) {
    return groupWithLayout(workers).channels;
  }

  it('skips the excluded worker (the dead one requests move away from)', () => {
    const channels = group([
      [Running, 0],
      [Running, 3],
    ]);
    expect(leastLoadedWorker(channels, { exclude: 0 })).toBe(1);
  });

  it('skips channels closed to this caller, and says WAIT_FOR_WORKER when only closed ones could answer', () => {
    const channels = group([
      [Running, 0],
      [Restarting, 0],
    ]);
    const closed = new Uint8Array(channels.length);
    closed[0] = 1;
    expect(leastLoadedWorker(channels, { closed })).toBe(1);
    closed[1] = 1;
    expect(leastLoadedWorker(channels, { closed })).toBe(WAIT_FOR_WORKER);
  });

  it('says NO_WORKER when every worker is DOWN or STOPPED, closed or not', () => {
    const channels = group([
      [Down, 0],
      [Stopped, 0],
    ]);
    const closed = new Uint8Array([1, 0]);
    expect(leastLoadedWorker(channels, { closed })).toBe(NO_WORKER);
  });

  it("counts the caller's unpublished load with PENDING, so one burst spreads over the group", () => {
    const channels = group([
      [Running, 1],
      [Running, 2],
    ]);
    const unpublished = new Int32Array(channels.length);
    expect(leastLoadedWorker(channels, { unpublished })).toBe(0);
    unpublished[0] = 2;
    expect(leastLoadedWorker(channels, { unpublished })).toBe(1);
    unpublished[1] = 2;
    expect(leastLoadedWorker(channels, { unpublished })).toBe(0);
  });

  it('takes only running workers when not-running ones are not allowed (failover)', () => {
    const channels = group([
      [Running, 0],
      [Starting, 0],
      [Retiring, 0],
    ]);
    expect(leastLoadedWorker(channels, { exclude: 0, allowNotRunning: false })).toBe(NO_WORKER);
    expect(leastLoadedWorker(channels, { exclude: 0 })).toBe(1);
  });

  it('with burst readings, reads the words once per burst and sees what others did at the next one', () => {
    const { layout, channels } = groupWithLayout([
      [Running, 0],
      [Running, 5],
    ]);
    const readings = new BurstReadings(channels.length);
    const pick = () => leastLoadedWorker(channels, { readings });
    expect(pick()).toBe(0);
    // Other callers load worker 0 and worker 1 drains: not seen within the burst...
    setWorkers(layout, channels, [
      [Running, 9],
      [Running, 0],
    ]);
    expect(leastLoadedWorker(channels)).toBe(1);
    expect(pick()).toBe(0);
    // ...seen at the next one.
    readings.nextBurst();
    expect(pick()).toBe(1);
    // The same for a state the supervisor writes (failover covers calls sent to a worker that just stopped).
    setWorkers(layout, channels, [
      [Running, 9],
      [Down, 0],
    ]);
    expect(pick()).toBe(1);
    readings.nextBurst();
    expect(pick()).toBe(0);
  });

  it("with burst readings, still spreads one burst's calls by this caller's own load", () => {
    const { channels } = groupWithLayout([
      [Running, 1],
      [Running, 1],
    ]);
    const unpublished = new Int32Array(channels.length);
    const readings = new BurstReadings(channels.length);
    const picks: number[] = [];
    for (let call = 0; call < 6; call++) {
      const worker = leastLoadedWorker(channels, { unpublished, readings });
      picks.push(worker);
      unpublished[worker]! += 1;
    }
    expect(picks).toEqual([0, 1, 0, 1, 0, 1]);
  });
});
