import { defineConfig } from 'tsup';

// The library face (main() as a function: ESM, CJS and type declarations) and
// the bin, dist/phoenix.js (ESM; it keeps its shebang). One config, so that
// `clean` cannot race a second build writing into the same folder.
export default defineConfig({
  entry: ['src/index.ts', 'src/phoenix.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  sourcemap: true,
  clean: true,
  target: 'node20',
  shims: true,
});
