#!/usr/bin/env node
// phoenix-stress: the PhoenixIPC stress scenarios (see README.md).
import { main } from './stress/cli.js';

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
