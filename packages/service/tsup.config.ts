import { defineConfig } from 'tsup';
import { msgpackrPatchesEsbuild } from './scripts/msgpackr-patches.js';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  shims: true,
  // A private copy of msgpackr: the codec registers extensions (Uint8Arrays
  // decode as views, Maps keep their type with records off), and msgpackr
  // keeps extensions in module state. Bundled, they reach nobody else's
  // msgpackr. The copy gets small changes (scripts/msgpackr-patches.ts).
  noExternal: ['msgpackr'],
  esbuildPlugins: [msgpackrPatchesEsbuild],
  // msgpackr's optional native string decoder stays outside and is never
  // loaded: it scans to the end of its source, and the codec decodes from
  // views of a whole segment (measured: several times slower for small messages).
  external: ['msgpackr-extract'],
  define: { 'process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED': '"true"' },
});
