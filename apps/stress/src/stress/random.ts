// mulberry32, the one seeded PRNG, lives in the test kit (tsup bundles it into dist: a dev dependency).
export { mulberry32 } from '@phoenix-ipc/test-kit/random';

/** A uniformly random integer in [min, max]. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** A seed derived from a base seed and a label (scenario name, process role), so each stream is independent. */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  return h >>> 0;
}

/** A fresh seed when none is given. */
export function freshSeed(): number {
  return (Math.floor(Math.random() * 0x100000000) ^ Date.now()) >>> 0;
}
