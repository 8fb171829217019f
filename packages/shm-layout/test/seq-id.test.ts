/**
 * Seq ids: unique in a segment across every instance, thread and process.
 * The thread case runs test/fixtures/seq-id-thread.mjs against the built
 * package (dist/): run `npx tsup` first.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { kInvalidSeqId, PhoenixShmLayout, SegmentDescriptor } from '../src/index.js';
import { makeLayout } from './helpers.js';

const THREAD = new URL('./fixtures/seq-id-thread.mjs', import.meta.url);
const DIST = new URL('../dist/index.js', import.meta.url).pathname;
const BLOCK = SegmentDescriptor.SEQ_BLOCK_SIZE;

describe('nextSeqId', () => {
  it('starts at 1 (0 is kInvalidSeqId)', () => {
    const { layout } = makeLayout();
    expect(kInvalidSeqId).toBe(0);
    expect(layout.nextSeqId()).toBe(1);
    expect(layout.nextSeqId()).toBe(2);
  });

  it('is strictly increasing across many blocks', () => {
    const { layout } = makeLayout();
    let previous = 0;
    for (let i = 0; i < 10 * BLOCK + 7; i++) {
      const id = layout.nextSeqId();
      if (id <= previous) expect.fail(`id ${id} after ${previous}`);
      previous = id;
    }
    expect(previous).toBe(10 * BLOCK + 7);
  });

  it('reserves ids in blocks of 1024 through one shared counter', () => {
    const { buffer, layout } = makeLayout();
    const counter = new Int32Array(buffer)[SegmentDescriptor.SEQ_BLOCK_OFFSET >> 2];
    expect(counter).toBe(0);
    layout.nextSeqId();
    expect(new Int32Array(buffer)[SegmentDescriptor.SEQ_BLOCK_OFFSET >> 2]).toBe(1);
    for (let i = 1; i < BLOCK; i++) layout.nextSeqId();
    expect(new Int32Array(buffer)[SegmentDescriptor.SEQ_BLOCK_OFFSET >> 2]).toBe(1);
    expect(layout.nextSeqId()).toBe(BLOCK + 1);
    expect(new Int32Array(buffer)[SegmentDescriptor.SEQ_BLOCK_OFFSET >> 2]).toBe(2);
  });

  it('is unique across two layout instances attached to the same buffer', () => {
    const { buffer } = makeLayout();
    const a = PhoenixShmLayout.attach(buffer);
    const b = PhoenixShmLayout.attach(buffer);
    expect(a.nextSeqId()).toBe(1);
    expect(b.nextSeqId()).toBe(BLOCK + 1);
    const seen = new Set<number>([1, BLOCK + 1]);
    for (let i = 0; i < 5000; i++) {
      for (const id of [a.nextSeqId(), b.nextSeqId(), b.nextSeqId()]) {
        if (seen.has(id)) expect.fail(`duplicate seq id ${id}`);
        seen.add(id);
      }
    }
    expect(seen.size).toBe(15_002);
  });

  it('is unique for an instance attached after others took ids', () => {
    const { buffer, layout } = makeLayout();
    for (let i = 0; i < 3000; i++) layout.nextSeqId();
    const late = PhoenixShmLayout.attach(buffer);
    expect(late.nextSeqId()).toBe(3 * BLOCK + 1);
  });

  it('is unique across two worker threads taking 100,000 ids each at once', async () => {
    expect(existsSync(DIST), 'build the package first: npx tsup').toBe(true);
    const count = 100_000;
    const { buffer: segment } = makeLayout();
    const results = new SharedArrayBuffer(2 * count * 8);
    const control = new SharedArrayBuffer(8);
    const go = new Int32Array(control);
    const workers = [0, 1].map(
      (i) => new Worker(THREAD, { workerData: { segment, results, offset: i * count, count, control } }),
    );
    const done = workers.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.on('error', reject);
          worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
        }),
    );
    try {
      // Both attached and waiting: release them together.
      while (Atomics.load(go, 1) < 2) Atomics.wait(go, 1, Atomics.load(go, 1), 1000);
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      await Promise.all(done);
    } finally {
      for (const worker of workers) await worker.terminate();
    }
    const ids = new Float64Array(results);
    const unique = new Set(ids);
    expect(unique.size).toBe(2 * count);
    expect(unique.has(kInvalidSeqId)).toBe(false);
    const sorted = ids.slice().sort();
    expect(sorted[0]).toBeGreaterThanOrEqual(1);
    // Each thread's own ids go up.
    for (const part of [ids.subarray(0, count), ids.subarray(count)]) {
      let ascending = true;
      for (let i = 1; i < part.length; i++) if (part[i]! <= part[i - 1]!) ascending = false;
      expect(ascending).toBe(true);
    }
    // Between them the threads used whole blocks: nothing skipped beyond the two partial ones.
    expect(sorted[sorted.length - 1]).toBeLessThanOrEqual(2 * count + 2 * BLOCK);
  });
});
