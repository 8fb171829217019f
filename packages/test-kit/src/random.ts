/**
 * mulberry32: a small seeded PRNG returning floats in [0, 1). The same seed
 * gives the same sequence everywhere (tests, the stress CLI, its fixtures), so
 * a failure names a reproducible trial.
 */
export function mulberry32(seed: number): () => number {
  const words = mulberry32Words(seed);
  return () => words() / 4294967296;
}

/** The same mulberry32 sequence as unsigned 32-bit words (for garbage bytes and words). */
export function mulberry32Words(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
