import { defineConfig } from 'tsup';

export default defineConfig({
  // src/nats/*.ts: pnpm demo:nats (dist/nats/main.js, and the hosts it starts, dist/nats/host.js).
  entry: ['src/main.ts', 'src/server.ts', 'src/nats/*.ts'],
  format: ['esm'],
  clean: true,
  target: 'node20',
  sourcemap: true,
});
