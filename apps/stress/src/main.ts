#!/usr/bin/env node
// phoenix-stress: the PhoenixIPC stress scenarios (see README.md).
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST_ENV } from './bench/paths.js';
import { main } from './stress/cli.js';

// PerformanceBenchmark.peers starts the benchmark's runners, which find their scripts through this.
process.env[DIST_ENV] = dirname(fileURLToPath(import.meta.url));

main(process.argv.slice(2)).then(
  (code) => {
    // Let stdout drain (a large --json report), then leave even if a handle lingers.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    process.stderr.write(
      `phoenix-stress: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
