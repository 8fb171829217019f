/**
 * mulberry32: a small seeded PRNG. The same seed gives the same sequence
 * everywhere (tests, the stress CLI, its fixtures), so a failure names a
 * reproducible trial. The code is fixtures/random.mjs, plain JavaScript, which
 * fixture processes import as `@phoenix-ipc/test-kit/random.mjs`.
 */
export { mulberry32, mulberry32Words } from '../fixtures/random.mjs';
