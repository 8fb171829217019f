import { defineConfig } from 'tsup';

export default defineConfig({
  // src/stress/fixtures/fixture.ts: the processes the stress scenarios start (dist/stress/fixtures/fixture.js).
  // src/bench/peers/*.ts: the processes and threads the benchmark starts (dist/bench/peers/*.js).
  entry: ['src/main.ts', 'src/bench-main.ts', 'src/stress/fixtures/fixture.ts', 'src/bench/peers/*.ts'],
  format: ['esm'],
  clean: true,
  target: 'node20',
  sourcemap: true,
});
