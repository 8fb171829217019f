import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeadlineEntry, DeadlineQueues, Fifo } from '../src/timeout-queues.js';

describe('Fifo', () => {
  it('behaves like an array used as a double-ended queue (model test)', () => {
    const command = fc.oneof(
      fc.record({ op: fc.constant('push' as const), value: fc.integer() }),
      fc.record({ op: fc.constant('unshift' as const), value: fc.integer() }),
      fc.record({ op: fc.constant('shift' as const) }),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 300 }), (commands) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        for (const command of commands) {
          if (command.op === 'push') {
            fifo.push(command.value);
            model.push(command.value);
          } else if (command.op === 'unshift') {
            fifo.unshift(command.value);
            model.unshift(command.value);
          } else {
            expect(fifo.shift()).toBe(model.shift());
          }
          expect(fifo.length).toBe(model.length);
          expect(fifo.peek()).toBe(model[0]);
        }
      }),
    );
  });

  it('grows past its initial size and keeps the order', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 1000; i++) fifo.push(i);
    for (let i = 0; i < 1000; i++) expect(fifo.shift()).toBe(i);
    expect(fifo.shift()).toBeUndefined();
  });
});

interface Entry extends DeadlineEntry {
  id: number;
}

function entry(id: number, now: number, timeoutMs: number): Entry {
  return { id, deadline: now + timeoutMs, timeoutMs, settled: false };
}

describe('DeadlineQueues', () => {
  it('reports the earliest unsettled deadline across timeout groups', () => {
    const queues = new DeadlineQueues<Entry>();
    expect(queues.earliest()).toBe(Number.POSITIVE_INFINITY);
    queues.add(entry(1, 0, 500));
    queues.add(entry(2, 10, 100));
    expect(queues.earliest()).toBe(110);
  });

  it('expires exactly the unsettled entries that are due, in deadline order per group', () => {
    const queues = new DeadlineQueues<Entry>();
    const a = entry(1, 0, 100);
    const b = entry(2, 5, 100);
    const c = entry(3, 50, 100);
    const d = entry(4, 0, 1000);
    for (const e of [a, b, c, d]) queues.add(e);
    b.settled = true;
    expect(queues.expired(120).map((e) => e.id)).toEqual([1]);
    expect(queues.expired(150).map((e) => e.id)).toEqual([3]);
    expect(queues.earliest()).toBe(1000);
    expect(queues.expired(2000).map((e) => e.id)).toEqual([4]);
    expect(queues.earliest()).toBe(Number.POSITIVE_INFINITY);
  });

  it('skips settled heads when asked for the earliest deadline', () => {
    const queues = new DeadlineQueues<Entry>();
    const first = entry(1, 0, 100);
    const second = entry(2, 30, 100);
    queues.add(first);
    queues.add(second);
    first.settled = true;
    queues.prune(100);
    expect(queues.earliest()).toBe(130);
  });

  it('never returns a settled entry and never loses an unsettled one (model test)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ timeoutMs: fc.constantFrom(10, 50, 200), settle: fc.boolean() }), { maxLength: 100 }),
        fc.integer({ min: 0, max: 300 }),
        (specs, now) => {
          const queues = new DeadlineQueues<Entry>();
          const entries = specs.map((spec, i) => entry(i, i, spec.timeoutMs));
          for (const e of entries) queues.add(e);
          specs.forEach((spec, i) => {
            if (spec.settle) entries[i]!.settled = true;
          });
          const due = queues.expired(now).map((e) => e.id);
          const expected = entries.filter((e) => !e.settled && e.deadline <= now).map((e) => e.id);
          expect([...due].sort((x, y) => x - y)).toEqual(expected);
          const rest = entries.filter((e) => !e.settled && e.deadline > now);
          const earliest = rest.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...rest.map((e) => e.deadline));
          expect(queues.earliest()).toBe(earliest);
        },
      ),
    );
  });
});
