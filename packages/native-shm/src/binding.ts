import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhoenixError } from '@phoenix-ipc/errors';
import { withPhoenixErrors } from './native-errors.js';
import type { MallocStats } from './process.js';

/** The raw addon surface. Policy and validation live in the TypeScript modules. */
export interface NativeBinding {
  openSegment(
    name: string,
    create: boolean,
    exclusive: boolean,
    mode: number,
    size: number,
    readOnly: boolean,
  ): { fd: number; created: boolean; size: number; buffer: ArrayBuffer };
  closeSegment(buffer: ArrayBuffer): boolean;
  unlinkSegment(name: string): boolean;
  statSegment(name: string): RawStat;
  statFd(fd: number): RawStat;
  lockFd(fd: number, mode: 0 | 1 | 2, nonBlocking: boolean): boolean;
  statFileSystem(path: string): { totalBytes: number; freeBytes: number };
  createEventFd(inheritable: boolean): number;
  signalEventFd(fd: number): void;
  drainEventFd(fd: number): number;
  isDoorbellFd(fd: number): boolean;
  closeFd(fd: number): void;
  waitSync(fd: number, timeoutMs: number): 'ok' | 'timed-out';
  pollSync(fds: number[], timeoutMs: number): number;
  FdWatcher: new (
    fd: number,
    callback: (status: number, events: number) => void,
    drainEventFd: boolean,
  ) => RawFdWatcher;
  listenSeqpacket(name: string, backlog: number): number;
  connectSeqpacket(name: string): number;
  acceptSeqpacket(fd: number): number;
  sendMessage(fd: number, data: Uint8Array, fds?: number[]): boolean;
  receiveMessage(fd: number): RawMessage | null;
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  setParentDeathSignal(signal: number): boolean;
  openPidFd(pid: number): number;
  retainFreedHeap(keep: number, heapUpTo: number): boolean;
  mallocStats(): MallocStats | null;
  yieldProcessor(): void;
  registerClockCell(cell: Float64Array): void;
  readClock(): void;
  spawnProcess(file: string, argv: string[], env: string[], fds: number[]): number;
  reapChild(pid: number): { code?: number; signal?: number } | null;
  createChannelPair(): number[];
  createDeathWatch(slots: number): { fd: number; eventFd: number };
  armDeathWatch(fd: number, slot: number): void;
  takeDeathWatchEvents(fd: number): [number, boolean][];
  closeDeathWatch(fd: number): boolean;
  holdDeathWatchSlot(fd: number, slot: number): boolean;
}

export interface RawStat {
  exists: boolean;
  size?: number;
  uid?: number;
  gid?: number;
  mode?: number;
  inode?: number;
  links?: number;
}

export type RawMessage = { eof: true } | { data: Buffer; fds: number[]; truncated: boolean };

export interface RawFdWatcher {
  start(): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
  readonly active: boolean;
}

let cached: NativeBinding | undefined;

type NodeGypBuild = (dir: string) => NativeBinding;

/**
 * The addon built in place (build/Release), which node-gyp-build would pick
 * first too, loaded without it: finding it through node-gyp-build costs every
 * process ~4 ms of CPU (it lists and matches directories), and every worker
 * replacement pays that while callers wait. Null when there is no local build.
 */
function localBuild(require: NodeJS.Require, root: string): NativeBinding | null {
  const path = join(root, 'build', 'Release', 'phoenix_native_shm.node');
  if (!existsSync(path)) return null;
  return require(path) as NativeBinding;
}

function packageRoot(): string {
  // dist/index.{js,cjs} -> package root; also works from src/ under vitest.
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

/**
 * Loads the addon once: a prebuild for this platform if present, else the
 * local build. Every function of the binding throws PhoenixErrors.
 */
export function loadBinding(): NativeBinding {
  if (cached) return cached;
  if (process.platform === 'win32') {
    throw new PhoenixError(
      'ERR_PHOENIX_UNSUPPORTED_PLATFORM',
      `PhoenixIPC needs POSIX shared memory; ${process.platform} is not supported (Linux is tested, macOS best-effort)`,
    );
  }
  const require = createRequire(import.meta.url);
  const root = process.env.PHOENIX_NATIVE_SHM_DIR ?? packageRoot();
  try {
    cached = withPhoenixErrors(localBuild(require, root) ?? (require('node-gyp-build') as NodeGypBuild)(root));
  } catch (cause) {
    throw new PhoenixError(
      'ERR_PHOENIX_UNSUPPORTED_PLATFORM',
      `no PhoenixIPC native binary for ${process.platform}-${process.arch} in ${join(root, 'prebuilds')} or ${join(root, 'build')}: ` +
        `install a C++ toolchain (g++, make, python3) and reinstall to build it from source (${(cause as Error).message})`,
      { cause },
    );
  }
  return cached;
}
