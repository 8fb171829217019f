import { PhoenixError } from '@phoenix-ipc/errors';

// No POSIX shared memory on Windows: say so at import, clearly, instead of
// failing later in a way that looks like a bug.
if (process.platform === 'win32') {
  throw new PhoenixError(
    'ERR_PHOENIX_UNSUPPORTED_PLATFORM',
    'PhoenixIPC needs POSIX shared memory, which Windows does not have (Linux is supported; macOS is best-effort)',
  );
}

// The one catalogue, as every package exports it (docs/errors.md).
export { ERROR_CODES, PhoenixError, type PhoenixErrorCode } from '@phoenix-ipc/errors';
export { loadBinding } from './binding.js';
export { DeathWatch, holdDeathWatchSlot } from './death-watch.js';
export {
  closeFd,
  createEventFd,
  drainEventFd,
  FdWatcher,
  type FdWatcherOptions,
  isDoorbellFd,
  pollSync,
  signal,
  signalEventFd,
  waitSync,
} from './doorbell.js';
export type { NativeShmErrorCode } from './errors.js';
export { codeForErrno } from './native-errors.js';
export {
  exitStatusOf,
  isProcessAlive,
  isSameProcessAlive,
  type MallocStats,
  mallocStats,
  monotonicClockCell,
  openPidFd,
  processStartTime,
  readMonotonicClock,
  retainFreedHeap,
  setParentDeathSignal,
  yieldProcessor,
} from './process.js';
export {
  type FileSystemSpace,
  fileSystemSpace,
  type OpenSegmentOptions,
  type SegmentStat,
  SHM_DIRECTORY,
  SharedSegment,
  statSegment,
  unlinkSegment,
} from './segment.js';
export { isValidSegmentName, MAX_SEGMENT_NAME_BYTES, segmentNameProblem, validateSegmentName } from './segment-name.js';
export {
  acceptSeqpacket,
  connectSeqpacket,
  listenSeqpacket,
  peerCredentials,
  type ReceivedMessage,
  receiveMessage,
  sendMessage,
} from './socket.js';
export { type ChildOutcome, createChannelPair, reapChild, type SpawnProcessOptions, spawnProcess } from './spawn.js';
