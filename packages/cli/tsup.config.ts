import { defineConfig } from 'tsup';

// A bin only: one ESM entry, no type declarations.
export default defineConfig({
  entry: ['src/phoenix.ts'],
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
