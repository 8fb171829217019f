import { Buffer } from 'node:buffer';
import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WarmReplyBuffer } from '../src/warm-reply-buffer.js';

const BIG = 64 * 1024;

afterEach(() => vi.restoreAllMocks());

describe('WarmReplyBuffer', () => {
  it('gives a Buffer of exactly the length asked, small or big', () => {
    const warm = new WarmReplyBuffer();
    for (const length of [0, 16, 4095, 4096, BIG, 300 * 1024]) {
      const payload = warm.take(length);
      expect(Buffer.isBuffer(payload)).toBe(true);
      expect(payload.length).toBe(length);
    }
  });

  it('gives every empty reply a view of one shared zero-length buffer, not a fresh ArrayBuffer', () => {
    const warm = new WarmReplyBuffer();
    const allocations = vi.spyOn(Buffer, 'allocUnsafe');
    const first = warm.take(0);
    const second = warm.take(0);
    expect(allocations).not.toHaveBeenCalled();
    expect(second).not.toBe(first);
    expect(second.buffer).toBe(first.buffer);
    expect(Buffer.isBuffer(second) && second.length === 0 && second.buffer.byteLength === 0).toBe(true);
  });

  it('refuses to let the memory of an empty reply be transferred away', () => {
    const payload = new WarmReplyBuffer().take(0);
    try {
      structuredClone(payload, { transfer: [payload.buffer as ArrayBuffer] }); // Node 22 and up: a DataCloneError
    } catch {}
    expect(Buffer.from(payload.buffer, 0, 0).length).toBe(0); // still attached
  });

  it('still gives empty replies after their shared memory was detached', () => {
    v8.setFlagsFromString('--allow-natives-syntax');
    const detach = new Function('memory', '%ArrayBufferDetach(memory)') as (memory: ArrayBufferLike) => void;
    const warm = new WarmReplyBuffer();
    const spoiled = warm.take(0);
    try {
      detach(spoiled.buffer); // Node 24 refuses: the buffer is not detachable there
    } catch {}
    const next = warm.take(0);
    expect(next.length).toBe(0);
    expect(Buffer.from(next.buffer, 0, 0).length).toBe(0);
  });

  it('readies nothing until two big replies in a row have the same length', () => {
    const warm = new WarmReplyBuffer();
    warm.prepare();
    expect(warm.readiedBytes).toBe(0);
    warm.take(BIG);
    warm.prepare();
    expect(warm.readiedBytes).toBe(0);
    warm.take(BIG);
    warm.prepare();
    expect(warm.readiedBytes).toBe(BIG);
  });

  it('hands the readied Buffer, zeroed, to the next reply of its length, and readies a new one at the next wait', () => {
    const warm = new WarmReplyBuffer();
    warm.take(BIG);
    warm.take(BIG);
    const allocations = vi.spyOn(Buffer, 'allocUnsafe');
    warm.prepare();
    const first = warm.take(BIG);
    expect(allocations).toHaveBeenCalledTimes(1); // in prepare(), none for the reply
    expect(first.every((byte) => byte === 0)).toBe(true);
    expect(warm.readiedBytes).toBe(0);
    first.fill(7); // the caller owns it
    warm.prepare();
    const second = warm.take(BIG);
    expect(second.buffer).not.toBe(first.buffer);
    expect(first.every((byte) => byte === 7)).toBe(true);
  });

  it('readies once per wait: preparing again before a reply keeps the one it has', () => {
    const warm = new WarmReplyBuffer();
    warm.take(BIG);
    warm.take(BIG);
    warm.prepare();
    const readied = warm.take(BIG);
    warm.prepare();
    warm.prepare();
    expect(warm.readiedBytes).toBe(BIG);
    expect(warm.take(BIG).buffer).not.toBe(readied.buffer);
  });

  it('drops the readied Buffer when a reply of another length comes, and waits for sizes to repeat again', () => {
    const warm = new WarmReplyBuffer();
    warm.take(BIG);
    warm.take(BIG);
    warm.prepare();
    expect(warm.take(BIG + 1).length).toBe(BIG + 1);
    expect(warm.readiedBytes).toBe(0);
    warm.prepare();
    expect(warm.readiedBytes).toBe(0);
    warm.take(BIG + 1);
    warm.prepare();
    expect(warm.readiedBytes).toBe(BIG + 1);
  });

  it('readies nothing for replies carved from Node’s Buffer pool (under half its poolSize) or above 256 KiB', () => {
    for (const length of [16, 4095, 256 * 1024 + 1]) {
      const warm = new WarmReplyBuffer();
      warm.take(length);
      warm.take(length);
      warm.prepare();
      expect(warm.readiedBytes).toBe(0);
    }
  });

  it('keeps readying for a small reply between big ones only once the big size repeats again', () => {
    const warm = new WarmReplyBuffer();
    warm.take(BIG);
    warm.take(BIG);
    warm.take(16); // from the pool: does not count as a big reply
    warm.prepare();
    expect(warm.readiedBytes).toBe(BIG);
  });
});
