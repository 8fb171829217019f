import { describe, expect, it } from 'vitest';
import { freshReplyMemoryNote, shouldSweepInPause } from '../src/reply-memory-gc.js';

// The end-to-end effect (mark-compacts per call in a process with a heap) is tested with real processes in
// packages/server/test/big-replies-gc.test.ts.
describe('sweeping ArrayBuffers in the GC pause, for big replies', () => {
  it('is chosen on V8 12 and older (Node 20 and 22), where concurrent sweeping brings the mark-compact loop', () => {
    expect(shouldSweepInPause([], '11.3.244.8-node.33')).toBe(true);
    expect(shouldSweepInPause([], '12.4.254.21-node.33')).toBe(true);
  });

  it('is not chosen on V8 13 and later (Node 24), which accounts external memory another way', () => {
    expect(shouldSweepInPause([], '13.6.233.10-node.30')).toBe(false);
    expect(shouldSweepInPause([], '14.0.1')).toBe(false);
  });

  it('is not chosen on a V8 version it cannot read', () => {
    expect(shouldSweepInPause([], '')).toBe(false);
    expect(shouldSweepInPause([], 'unknown')).toBe(false);
  });

  it('leaves the choice to a process started with the flag, in either form and spelling', () => {
    for (const flag of [
      '--concurrent-array-buffer-sweeping',
      '--no-concurrent-array-buffer-sweeping',
      '--concurrent_array_buffer_sweeping',
      '--no-concurrent_array_buffer_sweeping',
    ]) {
      expect(shouldSweepInPause(['--expose-gc', flag], '11.3.244.8-node.33')).toBe(false);
    }
  });

  it('ignores unrelated node flags', () => {
    expect(shouldSweepInPause(['--expose-gc', '--max-old-space-size=512'], '11.3.244.8-node.33')).toBe(true);
  });
});

describe('the note of a reply copied into memory of its own', () => {
  const NODE_20 = '11.3.244.8-node.33';

  function noteWith(execArgv: string[] = [], v8Version = NODE_20) {
    const sweeps: number[] = [];
    const note = freshReplyMemoryNote(() => sweeps.push(1), execArgv, v8Version);
    return { note, sweeps };
  }

  it('does nothing for replies that Node’s Buffer pool holds (under 4 KiB)', () => {
    const { note, sweeps } = noteWith();
    for (const length of [0, 16, 1024, 4095]) note(length);
    expect(sweeps).toHaveLength(0);
  });

  it('sweeps in the pause at the first reply of an ArrayBuffer of its own, and only once', () => {
    const { note, sweeps } = noteWith();
    note(4096);
    note(65536);
    note(1 << 20);
    expect(sweeps).toHaveLength(1);
  });

  it('decides once: after a big reply on a V8 that does not need it, it never sweeps in the pause', () => {
    const { note, sweeps } = noteWith([], '13.6.233.10-node.30');
    note(65536);
    expect(sweeps).toHaveLength(0);
  });

  it('leaves a process started with the flag as it is', () => {
    const { note, sweeps } = noteWith(['--concurrent-array-buffer-sweeping']);
    note(65536);
    expect(sweeps).toHaveLength(0);
  });
});
