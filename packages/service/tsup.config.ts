import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  shims: true,
  // A private copy of msgpackr: the codec registers a reader for msgpackr's
  // typed-array extension (Uint8Arrays decode as views, not copies), and
  // msgpackr keeps its extensions in module state. Bundled, that change
  // reaches nobody else's msgpackr. Its optional native string decoder stays
  // outside (loaded only if installed; the JavaScript decoder is used otherwise).
  noExternal: ['msgpackr'],
  external: ['msgpackr-extract'],
});
