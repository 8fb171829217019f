#!/usr/bin/env node
// The `phoenix` command (bin of @phoenix-ipc/cli). See docs/cli.md.
import { main } from './main.js';

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // `phoenix list | head`: the reader went away.
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`phoenix: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
