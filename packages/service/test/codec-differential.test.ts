// The codec's plain reader and writer stand in for msgpackr on plain values.
// Seeded random values, and damaged copies of their messages, check that
// they never answer differently from msgpackr itself.
import { isDeepStrictEqual } from 'node:util';
import { mulberry32 } from '@phoenix-ipc/test-kit';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { msgpackCodec } from '../src/index.js';

const VALUES = 3000;
const DAMAGED_COPIES = 8;

/** The kit's seeded PRNG: the same values on every run (a failure names its seed). */
function random(seed: number) {
  const next = mulberry32(seed);
  return { next, below: (n: number) => Math.floor(next() * n) };
}

type Random = ReturnType<typeof random>;
const KEYS = ['a', 'b', 'id', 'name', 'a longer key', 'ünï', '0', '7'];
const STRINGS = ['', 'x', 'héllo', '日本', 'y'.repeat(40)];

function randomValue(rng: Random, depth: number): unknown {
  switch (rng.below(depth > 3 ? 9 : 12)) {
    case 0:
      return rng.below(300) - 150;
    case 1: {
      // Integers of every width msgpack has, either sign.
      const magnitude = Math.floor(2 ** rng.below(53) * (1 + rng.next()));
      return rng.next() < 0.5 ? -magnitude : magnitude;
    }
    case 2:
      return (rng.next() - 0.5) * 1e6;
    case 3:
      return STRINGS[rng.below(STRINGS.length)];
    case 4:
      return rng.next() < 0.5;
    case 5:
      return null;
    case 6:
      return Buffer.from(Array.from({ length: rng.below(20) }, () => rng.below(256)));
    case 7:
      return new Uint8Array(rng.below(20)).map(() => rng.below(256));
    case 8: // values only msgpackr writes: the message takes msgpackr's path
      return [new Date(rng.below(2 ** 40)), BigInt(rng.below(1000)) * 2n ** 70n, 2 ** 40 + rng.below(99)][rng.below(3)];
    case 9:
    case 10:
      return Array.from({ length: rng.below(5) }, () => randomValue(rng, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = rng.below(5); i > 0; i--) object[KEYS[rng.below(KEYS.length)]!] = randomValue(rng, depth + 1);
      return object;
    }
  }
}

function damaged(rng: Random, bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  for (let i = 1 + rng.below(3); i > 0 && copy.length > 0; i--) copy[rng.below(copy.length)] = rng.below(256);
  return rng.next() < 0.2 ? copy.subarray(0, rng.below(copy.length + 1)) : copy;
}

type Outcome = { value: unknown } | { error: string };
function outcome(decode: () => unknown): Outcome {
  try {
    return { value: decode() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Both refused (with whatever words: msgpackr's differ by where the message ends), or the same value. */
function agree(a: Outcome, b: Outcome): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b;
  return isDeepStrictEqual(a.value, b.value);
}

describe('the msgpackr codec against msgpackr itself (seeded random values)', () => {
  // The codec's own options (msgpack-codec.ts), and its extensions: the tests share its msgpackr.
  const reference = new Packr({ useRecords: false, moreTypes: true, useBigIntExtension: true });

  it('writes what msgpackr reads back as the same value, and reads what msgpackr writes', () => {
    const rng = random(0x5eed);
    const mismatches: string[] = [];
    for (let i = 0; i < VALUES; i++) {
      const value = randomValue(rng, 0);
      if (!isDeepStrictEqual(reference.unpack(Buffer.from(msgpackCodec.encode(value))), value))
        mismatches.push(`ours → msgpackr: value ${i}`);
      if (!isDeepStrictEqual(msgpackCodec.decode(reference.pack(value)), value))
        mismatches.push(`msgpackr → ours: value ${i}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('reads damaged messages as msgpackr does, or refuses them; decode and decodeFrom agree', () => {
    const rng = random(0xbad);
    const mismatches: string[] = [];
    for (let i = 0; i < VALUES; i++) {
      // Our writer's messages and msgpackr's: they differ (ours writes no uint16, for one).
      const value = randomValue(rng, 0);
      const message = i % 2 === 0 ? msgpackCodec.encode(value) : reference.pack(value);
      for (let copy = 0; copy < DAMAGED_COPIES; copy++) {
        const bytes = damaged(rng, message);
        const hex = Buffer.from(bytes).toString('hex');
        const ours = outcome(() => msgpackCodec.decode(bytes));
        const memory = new Uint8Array(bytes.length + 16).fill(0xc1); // around the message: bytes it must not read
        memory.set(bytes, 8);
        const inPlace = outcome(() => msgpackCodec.decodeFrom!(memory, 8, 8 + bytes.length));
        if (!agree(ours, inPlace)) mismatches.push(`decode vs decodeFrom: ${hex}`);
        const theirs = outcome(() => reference.unpack(Buffer.from(bytes)));
        // Refusing what msgpackr reads is allowed for 0xc1 only (its marker object is no value).
        const refusedMarker = 'error' in ours && ours.error === '0xc1 is not a msgpack value';
        if (!refusedMarker && !agree(ours, theirs)) mismatches.push(`ours vs msgpackr: ${hex}`);
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });
});
