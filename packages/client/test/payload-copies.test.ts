import { describe, expect, it } from 'vitest';
import { PayloadCopies } from '../src/payload-copies.js';

describe('PayloadCopies', () => {
  it('copies a payload, or a list of chunks back to back, into memory of its own', () => {
    const copies = new PayloadCopies();
    const payload = Buffer.alloc(300, 7);
    const copy = copies.copy(payload);
    payload.fill(1);
    expect(Buffer.from(copy)).toEqual(Buffer.alloc(300, 7));
    expect(Buffer.from(copies.copy([Buffer.from('ab'), Buffer.from('cd')]))).toEqual(Buffer.from('abcd'));
  });

  it('makes no copy of an empty payload: the shared empty one has nothing to own', () => {
    const copies = new PayloadCopies();
    expect(copies.copy(new Uint8Array(0))).toBe(copies.copy([Buffer.alloc(0), new Uint8Array(0)]));
    expect(copies.copy([]).length).toBe(0);
  });

  it('reuses a copy given back for the next payload of its size class', () => {
    const copies = new PayloadCopies();
    const first = copies.copy(Buffer.alloc(1000, 1));
    copies.give(first);
    expect(copies.freeBytes).toBe(1024);
    const second = copies.copy(Buffer.alloc(900, 2));
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(900);
    expect(Buffer.from(second)).toEqual(Buffer.alloc(900, 2));
    expect(copies.freeBytes).toBe(0);
  });

  it('keeps nothing it did not make, and no more than its limit', () => {
    const copies = new PayloadCopies(4096);
    copies.give(new Uint8Array(1000)); // not a size class of its own
    copies.give(new Uint8Array(32)); // small: on V8's heap anyway
    expect(copies.freeBytes).toBe(0);
    const made = [1, 2, 3].map(() => copies.copy(Buffer.alloc(2000)));
    for (const copy of made) copies.give(copy);
    expect(copies.freeBytes).toBe(4096);
  });
});
