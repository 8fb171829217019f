import { defineConfig } from 'tsup';
import { msgpackrMapExtensionEsbuild } from './scripts/msgpackr-map-extension.js';

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
  // msgpackr. The copy gets a one-line change (scripts/msgpackr-map-extension.ts).
  noExternal: ['msgpackr'],
  esbuildPlugins: [msgpackrMapExtensionEsbuild],
  // msgpackr's optional native string decoder stays outside and is never
  // loaded: it scans to the end of its source, and the codec decodes from
  // views of a whole segment (measured: several times slower for small messages).
  external: ['msgpackr-extract'],
  define: { 'process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED': '"true"' },
});
