import { defineConfig } from 'vitest/config';
import { msgpackrMapExtensionVite } from './scripts/msgpackr-map-extension.js';

export default defineConfig({
  // The tests run the sources against the same msgpackr the build bundles (see tsup.config.ts).
  plugins: [msgpackrMapExtensionVite],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    server: { deps: { inline: ['msgpackr'] } },
    env: { MSGPACKR_NATIVE_ACCELERATION_DISABLED: 'true' },
  },
});
