import { fileURLToPath } from 'node:url';
import { type ProcessRun, runNodeToEnd } from '@phoenix-ipc/test-kit';

/** The phoenix CLI as built (node dist/phoenix.js), run as a child process by the tests. */
export const CLI = fileURLToPath(new URL('../dist/phoenix.js', import.meta.url));

/** Runs `phoenix ...args` (node dist/phoenix.js) to completion. */
export function phoenix(args: string[], timeoutMs = 20_000): Promise<ProcessRun> {
  return runNodeToEnd(CLI, args, { timeoutMs });
}
