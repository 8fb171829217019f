// The one test kit: bounded waits, seeded randomness, PhoenixError checks,
// real-process harnesses, open-fd listings and a private /dev/shm. Private; never published.
export { countAddedListeners } from './added-listeners.js';
export { fdWatcherThatMayFail, noMemoryForWatcher } from './failing-watcher.js';
export { fdsOpenedSince, openFds } from './fds.js';
export { onJsonLines } from './json-lines.js';
export { expectPhoenixError, phoenixFailure } from './phoenix-error.js';
export { type PrivateShmOptions, type PrivateShmResult, runWithPrivateShm } from './private-shm.js';
export {
  cpuTicks,
  type ExitStatus,
  hasExited,
  ProcessHarness,
  type ProcessHarnessOptions,
  processesMentioning,
  processState,
  type ScriptOptions,
  ScriptProcess,
  shmEntriesWithPrefix,
  withFdLimit,
} from './process.js';
export { mulberry32, mulberry32Words } from './random.js';
export { type ProcessRun, type RunToEndOptions, runNodeToEnd } from './run-to-end.js';
export { sleep, waitUntil } from './wait.js';
