import { defineConfig } from 'vitest/config';
import { msgpackrPatchesVite } from './scripts/msgpackr-patches.js';

export default defineConfig({
  // The tests run the sources against the same msgpackr the build bundles (see tsup.config.ts).
  plugins: [msgpackrPatchesVite],
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    server: { deps: { inline: ['msgpackr'] } },
    env: { MSGPACKR_NATIVE_ACCELERATION_DISABLED: 'true' },
  },
});
