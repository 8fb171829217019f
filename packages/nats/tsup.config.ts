import { defineConfig } from 'tsup';

export default defineConfig({
  // src/testing.ts: `@phoenix-ipc/nats/testing`, a nats-server for tests (this package's and others').
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  shims: true,
});
