import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type LayoutOptions,
  PhoenixShmLayout,
  SegmentDescriptor,
  SpscRingBuffer,
  ThreadMonitor,
} from '../src/index.js';
import { makeLayout, SMALL } from './helpers.js';

type Interval = { name: string; start: number; end: number };

/** Every ring's [offset, offset + bytes), attached through the layout, in (slot, worker, request/response) order. */
function ringIntervals(layout: PhoenixShmLayout): Interval[] {
  const out: Interval[] = [];
  for (let s = 0; s < layout.slots.length; s++) {
    for (const channel of layout.channels) {
      for (const [kind, ring] of [
        ['request', channel.requestRing(s)],
        ['response', channel.responseRing(s)],
      ] as const) {
        out.push({
          name: `${channel.group}${channel.index}/slot${s}/${kind}`,
          start: ring.byteOffset,
          end:
            ring.byteOffset +
            SpscRingBuffer.requiredBytes({ capacity: ring.capacity, maxMessageSize: ring.maxMessageSize }),
        });
      }
    }
  }
  return out;
}

/** Worker records, monitors and slot records of a layout. */
function recordIntervals(layout: PhoenixShmLayout): Interval[] {
  const g = layout.geometry;
  const out: Interval[] = [{ name: 'header', start: 0, end: 512 }];
  for (const channel of layout.channels) {
    const start = g.workersOffset + channel.globalIndex * g.workerRecordBytes;
    out.push({ name: `${channel.group}${channel.index} record`, start, end: channel.monitorOffset(0) });
    channel.monitors.forEach((monitor, lane) => {
      out.push({
        name: `${channel.group}${channel.index} monitor ${lane}`,
        start: monitor.byteOffset,
        end: monitor.byteOffset + 64,
      });
    });
  }
  for (const slot of layout.slots) {
    out.push({ name: `slot ${slot.index}`, start: slot.recordOffset, end: slot.recordOffset + g.slotRecordBytes });
  }
  return out;
}

/** Sorted by start; each ends at or before the next starts; all inside [0, size). */
function expectDisjoint(intervals: Interval[], size: number): void {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  for (let i = 0; i < sorted.length; i++) {
    const { name, start, end } = sorted[i]!;
    expect(start, name).toBeGreaterThanOrEqual(0);
    expect(end, name).toBeGreaterThan(start);
    expect(end, name).toBeLessThanOrEqual(size);
    if (i > 0) expect(start, `${name} overlaps ${sorted[i - 1]!.name}`).toBeGreaterThanOrEqual(sorted[i - 1]!.end);
  }
}

describe('worker channels', () => {
  it('are one per worker, normal first, each with its group, index and global index', () => {
    const { layout } = makeLayout();
    expect(layout.channels.map((c) => [c.group, c.index, c.globalIndex])).toEqual([
      ['normal', 0, 0],
      ['normal', 1, 1],
      ['vip', 0, 2],
      ['vip', 1, 3],
    ]);
  });

  it('getNormalChannel / getVipChannel return distinct channels', () => {
    const { layout } = makeLayout();
    const all = [
      layout.getNormalChannel(0),
      layout.getNormalChannel(1),
      layout.getVipChannel(0),
      layout.getVipChannel(1),
    ];
    expect(new Set(all).size).toBe(4);
    expect(layout.getNormalChannel(1)).toBe(layout.normalChannels[1]);
    expect(layout.getVipChannel(1)).toBe(layout.vipChannels[1]);
    expect(layout.getChannel('vip', 0)).toBe(layout.getVipChannel(0));
    expect(layout.getChannel('normal', 1)).toBe(layout.getNormalChannel(1));
  });

  it('getNormalMonitor / getVipMonitor return distinct records named after their worker', () => {
    const { layout } = makeLayout();
    const monitors = [
      layout.getNormalMonitor(0),
      layout.getNormalMonitor(1),
      layout.getVipMonitor(0),
      layout.getVipMonitor(1),
    ];
    expect(new Set(monitors.map((m) => m.byteOffset)).size).toBe(4);
    expect(monitors.map((m) => [m.getGroupId(), m.getWorkerIndex()])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    expect(layout.getVipMonitor(1)).toBe(layout.getVipChannel(1).monitor);
  });

  it('keeps the monitors independent: a transaction on one shows on no other', () => {
    const { buffer, layout } = makeLayout();
    layout.getVipMonitor(0).beginTransaction(77, 1, 0, 2, 0, 1001);
    const attached = PhoenixShmLayout.attach(buffer);
    expect(attached.channels.map((c) => c.monitor.getProcessingSeq())).toEqual([0, 0, 77, 0]);
  });

  it('gives a worker `concurrency` monitors, 64-byte aligned, one after another', () => {
    const { layout } = makeLayout({ ...SMALL, concurrency: 3 });
    for (const channel of layout.channels) {
      expect(channel.monitors.map((m) => m.byteOffset)).toEqual([0, 1, 2].map((lane) => channel.monitorOffset(lane)));
      expect(channel.monitors.every((m) => m.byteOffset % ThreadMonitor.BYTES === 0)).toBe(true);
      expect(channel.monitors[2]!.byteOffset - channel.monitors[0]!.byteOffset).toBe(128);
    }
  });

  it.each<[string, (layout: PhoenixShmLayout) => unknown, RegExp]>([
    ['getNormalChannel(-1)', (l) => l.getNormalChannel(-1), /normal worker -1 is outside 0\.\.1/],
    ['getNormalChannel(2)', (l) => l.getNormalChannel(2), /normal worker 2 is outside 0\.\.1/],
    ['getNormalChannel(0.5)', (l) => l.getNormalChannel(0.5), /normal worker 0\.5/],
    ['getVipChannel(2)', (l) => l.getVipChannel(2), /VIP worker 2 is outside 0\.\.1/],
    ['getNormalMonitor(5)', (l) => l.getNormalMonitor(5), /normal worker 5/],
    ['getVipMonitor(-1)', (l) => l.getVipMonitor(-1), /VIP worker -1/],
    ['getChannel("vip", 9)', (l) => l.getChannel('vip', 9), /VIP worker 9/],
    ['getSlot(7)', (l) => l.getSlot(7), /slot 7 is outside 0\.\.6/],
    ['getSlot(-1)', (l) => l.getSlot(-1), /slot -1/],
  ])('%s is out of range: ERR_PHOENIX_INVALID_ARGUMENT', (_name, call, pattern) => {
    const { layout } = makeLayout();
    expectPhoenixError(() => call(layout), 'ERR_PHOENIX_INVALID_ARGUMENT', pattern);
  });

  it('has no VIP channel or monitor when vipWorkers is 0', () => {
    const { layout } = makeLayout({ ...SMALL, vipWorkers: 0 });
    expect(layout.vipChannels).toEqual([]);
    expectPhoenixError(
      () => layout.getVipChannel(0),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /VIP worker 0 is outside 0\.\.-1/,
    );
    expectPhoenixError(() => layout.getVipMonitor(0), 'ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('keeps each worker record field in its own record', () => {
    const { buffer, layout } = makeLayout();
    layout.getNormalChannel(1).state = 2;
    layout.getNormalChannel(1).pid = 4242;
    Atomics.add(layout.views.words, layout.getVipChannel(0).pendingIndex, 5);
    const attached = PhoenixShmLayout.attach(buffer);
    expect(attached.channels.map((c) => [c.state, c.pid, c.pending])).toEqual([
      [0, 0, 0],
      [2, 4242, 0],
      [0, 0, 5],
      [0, 0, 0],
    ]);
  });
});

describe('ring pairs', () => {
  it('exist for every (worker, slot), each attached and distinct', () => {
    const { layout } = makeLayout();
    const rings = new Set<SpscRingBuffer>();
    for (const channel of layout.channels) {
      for (let s = 0; s < layout.slots.length; s++) {
        rings.add(channel.requestRing(s));
        rings.add(channel.responseRing(s));
        expect(channel.requestRing(s)).toBe(channel.requestRing(s)); // cached
      }
    }
    expect(rings.size).toBe(layout.channels.length * layout.slots.length * 2);
  });

  it('lie at strictly increasing offsets (slot-major, normal before VIP, request before response)', () => {
    const { layout } = makeLayout();
    const starts = ringIntervals(layout).map((r) => r.start);
    for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThan(starts[i - 1]!);
  });

  it('never overlap each other, the records or the end of the segment', () => {
    const { layout } = makeLayout();
    const size = PhoenixShmLayout.requiredSize(SMALL);
    expectDisjoint([...ringIntervals(layout), ...recordIntervals(layout)], size);
    expect(Math.min(...ringIntervals(layout).map((r) => r.start))).toBe(layout.geometry.ringsOffset);
    expect(Math.max(...ringIntervals(layout).map((r) => r.end))).toBe(size);
  });

  it('never overlap with vipWorkers 0', () => {
    const options = { ...SMALL, vipWorkers: 0 };
    const { layout } = makeLayout(options);
    expect(ringIntervals(layout)).toHaveLength(2 * 2 * layout.slots.length); // 2 workers x 2 rings x (1 + 3 clients + 3 spares)
    expectDisjoint([...ringIntervals(layout), ...recordIntervals(layout)], PhoenixShmLayout.requiredSize(options));
  });

  it('never overlap for random configurations', () => {
    const options = fc.record({
      normalWorkers: fc.integer({ min: 1, max: 5 }),
      vipWorkers: fc.integer({ min: 0, max: 4 }),
      normalQueueCapacity: fc.integer({ min: 0, max: 8 }).map((n) => 2 ** n),
      vipQueueCapacity: fc.integer({ min: 0, max: 8 }).map((n) => 2 ** n),
      maxPayloadBytes: fc.integer({ min: 0, max: 5000 }),
      maxClients: fc.integer({ min: 0, max: 4 }),
      concurrency: fc.integer({ min: 1, max: 5 }),
    });
    fc.assert(
      fc.property(options, (o: LayoutOptions) => {
        const { layout } = makeLayout(o);
        const rings = ringIntervals(layout);
        expect(rings).toHaveLength(
          (o.normalWorkers! + o.vipWorkers!) * (o.maxClients! + 1 + Math.min(o.maxClients!, 4)) * 2,
        );
        expectDisjoint([...rings, ...recordIntervals(layout)], PhoenixShmLayout.requiredSize(o));
      }),
      { numRuns: 40, seed: 42 },
    );
  });

  it('have the configured capacity and room for a maximum payload plus its frame', () => {
    const { layout } = makeLayout({ ...SMALL, maxPayloadBytes: 2000 });
    const normal = layout.getNormalChannel(1).requestRing(2);
    const vip = layout.getVipChannel(0).responseRing(3);
    expect(normal.capacity).toBe(16);
    expect(vip.capacity).toBe(8);
    expect(normal.maxMessageSize).toBe(40 + 2000);
    expect(vip.maxMessageSize).toBe(40 + 2000);
  });

  it('keep room for a 1 KiB error reply when maxPayloadBytes is smaller', () => {
    const { layout } = makeLayout({ ...SMALL, maxPayloadBytes: 0 });
    expect(layout.getNormalChannel(0).responseRing(0).maxMessageSize).toBe(40 + 1024);
  });

  it('carry messages independently of one another', () => {
    const { buffer, layout } = makeLayout();
    layout
      .getNormalChannel(1)
      .requestRing(2)
      .push(new Uint8Array([1, 2, 3]));
    layout
      .getVipChannel(0)
      .responseRing(2)
      .push(new Uint8Array([9]));
    const attached = PhoenixShmLayout.attach(buffer);
    const sizes = attached.channels.flatMap((c) =>
      attached.slots.map((s) => [c.requestRing(s.index).size(), c.responseRing(s.index).size()]),
    );
    expect(sizes.flat().reduce((a, b) => a + b, 0)).toBe(2);
    expect(Array.from(attached.getNormalChannel(1).requestRing(2).peek()!)).toEqual([1, 2, 3]);
    expect(Array.from(attached.getVipChannel(0).responseRing(2).peek()!)).toEqual([9]);
  });

  it('rejects a slot outside the segment', () => {
    const { layout } = makeLayout();
    expectPhoenixError(() => layout.getNormalChannel(0).requestRing(7), 'ERR_PHOENIX_INVALID_ARGUMENT', /slot 7/);
    expectPhoenixError(() => layout.getNormalChannel(0).requestRing(-1), 'ERR_PHOENIX_INVALID_ARGUMENT');
    expect(() => layout.getNormalChannel(0).responseRingOffset(-1)).toThrow(/slot -1 is outside 0\.\.6/);
  });

  it('formatRingPair empties one pair and leaves the others alone', () => {
    const { buffer, layout } = makeLayout();
    const channel = layout.getNormalChannel(0);
    channel.requestRing(1).push(new Uint8Array(4));
    channel.requestRing(2).push(new Uint8Array(4));
    layout.formatRingPair(channel, 1);
    const attached = PhoenixShmLayout.attach(buffer).getNormalChannel(0);
    expect(attached.requestRing(1).empty()).toBe(true);
    expect(attached.requestRing(2).size()).toBe(1);
    expect(channel.requestRing(1).empty()).toBe(true); // cached object dropped
  });
});

describe('caller slots', () => {
  it('are 1 + maxClients + min(maxClients, 4) spares, slot 0 being the supervisor’s', () => {
    const { layout } = makeLayout();
    expect(layout.options.maxClients).toBe(3);
    expect(layout.slots.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('keep their ACK and OUTSTANDING words inside their own record', () => {
    const { layout } = makeLayout();
    const g = layout.geometry;
    for (const slot of layout.slots) {
      const first = slot.recordOffset >> 2;
      const last = (slot.recordOffset + g.slotRecordBytes) >> 2;
      for (const channel of layout.channels) {
        for (const index of [slot.ackIndex(channel.globalIndex), slot.outstandingIndex(channel.globalIndex)]) {
          expect(index).toBeGreaterThanOrEqual(first);
          expect(index).toBeLessThan(last);
        }
      }
      const words = layout.channels.flatMap((c) => [
        slot.ackIndex(c.globalIndex),
        slot.outstandingIndex(c.globalIndex),
      ]);
      expect(new Set([...words, slot.parkedIndex]).size).toBe(words.length + 1);
    }
  });
});

describe('the segment header descriptor', () => {
  it('derives the offsets of format version 1, field by field', () => {
    const D = SegmentDescriptor;
    expect([
      D.MAGIC_OFFSET,
      D.VERSION_OFFSET,
      D.HEADER_BYTES_OFFSET,
      D.TOTAL_BYTES_OFFSET,
      D.NORMAL_WORKERS_OFFSET,
      D.VIP_WORKERS_OFFSET,
      D.NORMAL_QUEUE_CAPACITY_OFFSET,
      D.VIP_QUEUE_CAPACITY_OFFSET,
      D.MAX_PAYLOAD_BYTES_OFFSET,
      D.MAX_CLIENTS_OFFSET,
      D.CONCURRENCY_OFFSET,
      D.HANG_TIMEOUT_MS_OFFSET,
      D.WAIT_STRATEGY_OFFSET,
      D.RESERVED_CONFIG_OFFSET,
      D.NORMAL_RING_DATA_BYTES_OFFSET,
      D.VIP_RING_DATA_BYTES_OFFSET,
      D.WORKER_RECORD_BYTES_OFFSET,
      D.SLOT_RECORD_BYTES_OFFSET,
      D.WORKERS_OFFSET_OFFSET,
      D.SLOTS_OFFSET_OFFSET,
      D.RINGS_OFFSET_OFFSET,
      D.SLOT_STRIDE_OFFSET,
      D.NORMAL_PAIR_BYTES_OFFSET,
      D.VIP_PAIR_BYTES_OFFSET,
      D.EPOCH_OFFSET,
      D.SUPERVISOR_PID_OFFSET,
      D.CONTROL_NONCE_OFFSET,
    ]).toEqual(Array.from({ length: 27 }, (_, i) => 4 * i));
    expect(D.SUPERVISOR_START_TIME_OFFSET).toBe(112);
    expect(D.HEADER_CHECKSUM_OFFSET).toBe(120);
    expect(D.CHECKSUMMED_WORDS).toBe(30);
    expect(D.SEQ_BLOCK_OFFSET).toBe(128);
    expect([D.SUPERVISOR_STATE_OFFSET, D.HEARTBEAT_OFFSET, D.SLOT_EPOCH_OFFSET, D.WORKER_EPOCH_OFFSET]).toEqual([
      192, 196, 200, 204,
    ]);
    expect(D.HEARTBEAT_AT_OFFSET).toBe(208);
    expect(D.SUPERVISOR_LINE_END_OFFSET).toBeLessThanOrEqual(256);
    expect(D.SEGMENT_HEADER_BYTES).toBe(512);
  });

  it('keeps the worker and slot records where version 1 put them', () => {
    const D = SegmentDescriptor;
    expect([
      D.WORKER_STATE_OFFSET,
      D.WORKER_PID_OFFSET,
      D.WORKER_GENERATION_OFFSET,
      D.WORKER_CRASHES_OFFSET,
      D.WORKER_RESTARTS_OFFSET,
      D.WORKER_GROUP_OFFSET,
      D.WORKER_INDEX_OFFSET,
    ]).toEqual([0, 4, 8, 12, 16, 20, 24]);
    expect([D.WORKER_RESTART_AT_OFFSET, D.WORKER_PID_START_TIME_OFFSET]).toEqual([32, 40]);
    expect([D.WORKER_PENDING_OFFSET, D.WORKER_PARKED_OFFSET, D.WORKER_MONITORS_OFFSET]).toEqual([64, 128, 256]);
    expect([D.SLOT_STATE_OFFSET, D.SLOT_GENERATION_OFFSET, D.SLOT_PID_OFFSET, D.SLOT_PID_START_TIME_OFFSET]).toEqual([
      0, 4, 8, 16,
    ]);
    expect([D.SLOT_PARKED_OFFSET, D.SLOT_ACKS_OFFSET]).toEqual([64, 128]);
  });
});
