import { describe, expect, it } from 'vitest';
import { PayloadPool } from '../src/bench/payload.js';

// The bench counts a reply as served only if it proves to be its own request's:
// these are the ways a reply can be wrong, at a size compared in JS and one compared by memcmp.
describe.each([16, 64, 65, 4096])('PayloadPool verifies %i-byte replies', (size) => {
  const echo = (pool: PayloadPool, slot: number, call: number) => Uint8Array.from(pool.stamp(slot, call));

  it('accepts the echo of the current request', () => {
    const pool = new PayloadPool(size, 2);
    expect(pool.verify(1, echo(pool, 1, 70_000))).toBe(true);
    expect(() => pool.assertClean('echo')).not.toThrow();
  });

  it('rejects a reply that differs in any one byte', () => {
    const pool = new PayloadPool(size, 1);
    const reply = echo(pool, 0, 5);
    for (let at = 0; at < size; at++) {
      const wrong = Uint8Array.from(reply);
      wrong[at] = wrong[at]! ^ 0x40;
      expect(pool.verify(0, wrong)).toBe(false);
    }
    expect(pool.mismatches).toBe(size);
  });

  it('rejects a stale reply (an earlier call of the same slot) and a truncated one', () => {
    const pool = new PayloadPool(size, 1);
    const stale = echo(pool, 0, 1);
    const current = echo(pool, 0, 2);
    expect(pool.verify(0, stale)).toBe(false);
    expect(pool.verify(0, current.subarray(0, size - 1))).toBe(false);
    expect(() => pool.assertClean('stale')).toThrow(/2 of 2 replies differ/);
  });
});
