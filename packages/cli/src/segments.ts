import { type BigIntStats, lstatSync, readdirSync } from 'node:fs';
import { SharedSegment, segmentNameProblem } from '@phoenix-ipc/native-shm';
import {
  fnv1aWords,
  PhoenixShmLayout,
  SEGMENT_MAGIC,
  SegmentDescriptor,
  SlotState,
  SupervisorState,
  WorkerState,
} from '@phoenix-ipc/shm-layout';
import { type FileLock, lockHolders, processRuns, readLocks } from './processes.js';

/** Where POSIX shared memory lives on Linux: segment "/name" is the file /dev/shm/name. */
export const SHM_DIR = '/dev/shm';

/** A segment created longer ago than this, with no header and no process holding it, is not "being created". */
export const CREATING_GRACE_MS = 10_000;

export type SegmentStatus =
  /** A PhoenixIPC segment whose supervisor runs. */
  | 'alive'
  /** A PhoenixIPC segment whose supervisor is gone (pid + start time name no running process). */
  | 'stale'
  /** Being created or formatted by a live process. */
  | 'creating'
  /** Empty or zero-filled, no process holds it, and too old to be in creation: nothing proves it is ours. */
  | 'incomplete'
  /** Not a PhoenixIPC segment (or one of another version, or damaged). */
  | 'foreign'
  /** Could not be opened (permissions). */
  | 'unreadable';

export interface SegmentEntry {
  name: string;
  status: SegmentStatus;
  /** Bytes. */
  size: number;
  /** Header VERSION word: 0 while being formatted; null when unknown. */
  version: number | null;
  /** The supervisor (owner) recorded in the header. */
  pid: number | null;
  pidStartTime: number | null;
  epoch: number | null;
  supervisorState: string | null;
  /** Client processes connected: ACTIVE caller slots other than the supervisor's own slot 0. */
  clients: number | null;
  /** Worker records and how many are RUNNING / have a live process. */
  workers: number | null;
  workersRunning: number | null;
  /** Live worker processes of a segment whose supervisor is gone. */
  orphanWorkers: number[];
  /** Processes holding a lock on the file (a live supervisor holds one; so does a takeover in progress). */
  lockedBy: number[];
  uid: number;
  mode: string;
  inode: number;
  modifiedAt: string;
  /** `phoenix clean` would remove it. */
  removable: boolean;
  /** Why it has this status (and why clean would keep it). */
  note: string | null;
}

/** value -> lower-case name, from the layout's own state tables (so new states show up by name). */
function stateNames(states: Record<string, number>): ReadonlyMap<number, string> {
  return new Map(Object.entries(states).map(([key, value]) => [value, key.toLowerCase()]));
}

export const SUPERVISOR_STATE_NAMES = stateNames(SupervisorState);
export const WORKER_STATE_NAMES = stateNames(WorkerState);
export const SLOT_STATE_NAMES = stateNames(SlotState);

/** The name of a state word; a value no writer uses shows as unknown(value). */
export function stateName(names: ReadonlyMap<number, string>, value: number): string {
  return names.get(value) ?? `unknown(${value})`;
}

const D = SegmentDescriptor;

/** Accepts "/name", "name" and "/dev/shm/name"; returns "/name" or the problem. */
export function normalizeSegmentName(input: string): { name: string } | { problem: string } {
  let name = input;
  if (name.startsWith(`${SHM_DIR}/`)) name = name.slice(SHM_DIR.length);
  else if (!name.startsWith('/')) name = `/${name}`;
  const problem = input.length === 0 ? 'segment name is empty' : segmentNameProblem(name);
  return problem === null ? { name } : { problem: `bad segment name ${JSON.stringify(input)}: ${problem}` };
}

/** The entries of /dev/shm as segment names ("/name"), sorted. Throws if the directory cannot be read. */
export function listSegmentNames(prefix = ''): string[] {
  const bare = prefix.startsWith('/') ? prefix.slice(1) : prefix;
  return readdirSync(SHM_DIR)
    .filter((entry) => entry.startsWith(bare))
    .sort()
    .map((entry) => `/${entry}`);
}

/** What the header says about its owner, when it can be trusted (PHNX magic and a matching checksum). */
interface HeaderIdentity {
  version: number;
  pid: number;
  startTime: number;
  epoch: number;
  supervisorState: number;
}

/** Reads the identity words of a header (same checksum as shm-layout's); null if they cannot be trusted. */
export function readHeaderIdentity(buffer: ArrayBuffer): HeaderIdentity | null {
  if (buffer.byteLength < D.SEGMENT_HEADER_BYTES) return null;
  const words = new Int32Array(buffer, 0, D.SEGMENT_HEADER_BYTES >> 2);
  const doubles = new Float64Array(buffer, 0, D.SEGMENT_HEADER_BYTES >> 3);
  if (Atomics.load(words, D.MAGIC_OFFSET >> 2) !== SEGMENT_MAGIC) return null;
  const checksum = fnv1aWords(words, 0, D.CHECKSUMMED_WORDS, D.VERSION_OFFSET >> 2);
  if (words[D.HEADER_CHECKSUM_OFFSET >> 2] !== checksum) return null;
  return {
    version: Atomics.load(words, D.VERSION_OFFSET >> 2),
    pid: words[D.SUPERVISOR_PID_OFFSET >> 2]!,
    startTime: doubles[D.SUPERVISOR_START_TIME_OFFSET >> 3]!,
    epoch: words[D.EPOCH_OFFSET >> 2]!,
    supervisorState: Atomics.load(words, D.SUPERVISOR_STATE_OFFSET >> 2),
  };
}

function isZeroFilled(buffer: ArrayBuffer): boolean {
  const bytes = new Uint8Array(buffer, 0, Math.min(buffer.byteLength, D.SEGMENT_HEADER_BYTES));
  return bytes.every((byte) => byte === 0);
}

function unknownEntry(name: string): SegmentEntry {
  return {
    name,
    status: 'foreign',
    size: 0,
    version: null,
    pid: null,
    pidStartTime: null,
    epoch: null,
    supervisorState: null,
    clients: null,
    workers: null,
    workersRunning: null,
    orphanWorkers: [],
    lockedBy: [],
    uid: -1,
    mode: '',
    inode: 0,
    modifiedAt: '',
    removable: false,
    note: null,
  };
}

/**
 * Opens `name` read-only (copy-on-write: nothing we do reaches the segment),
 * classifies it and closes it again. Returns null if the name does not
 * exist (any more).
 */
export function classifySegment(name: string, locks: readonly FileLock[] = readLocks()): SegmentEntry | null {
  const path = `${SHM_DIR}${name}`;
  let stat: BigIntStats;
  try {
    stat = lstatSync(path, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { ...unknownEntry(name), status: 'unreadable', note: (error as Error).message };
  }
  const entry: SegmentEntry = {
    ...unknownEntry(name),
    size: Number(stat.size),
    uid: Number(stat.uid),
    mode: `0${(Number(stat.mode) & 0o777).toString(8)}`,
    inode: Number(stat.ino),
    modifiedAt: new Date(Number(stat.mtimeMs)).toISOString(),
  };
  if (!stat.isFile()) {
    entry.note = `not a regular file (${stat.isDirectory() ? 'a directory' : stat.isSymbolicLink() ? 'a symbolic link' : 'a special file'})`;
    return entry;
  }
  const nameProblem = segmentNameProblem(name);
  if (nameProblem !== null) {
    entry.note = nameProblem;
    return entry;
  }
  let segment: SharedSegment;
  try {
    segment = SharedSegment.open(name, { readOnly: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PHOENIX_SEGMENT_NOT_FOUND') return null;
    entry.status = 'unreadable';
    entry.note = (error as Error).message;
    return entry;
  }
  try {
    const own = segment.stat();
    if (own.inode !== entry.inode) {
      // Replaced between lstat and open: describe what we opened.
      entry.inode = own.inode;
    }
    entry.size = segment.size;
    entry.lockedBy = lockHolders(locks, stat.dev, entry.inode);
    classifyMapping(entry, segment.buffer, Number(stat.mtimeMs));
  } catch (error) {
    // Never expected; but one odd file must not stop a listing, and clean must not act on it.
    entry.status = 'unreadable';
    entry.removable = false;
    entry.note = (error as Error).message;
  } finally {
    segment.close();
  }
  return entry;
}

function classifyMapping(entry: SegmentEntry, buffer: ArrayBuffer, modifiedMs: number): void {
  const probe = PhoenixShmLayout.probe(buffer);
  const identity = readHeaderIdentity(buffer);
  if (identity !== null) {
    entry.version = identity.version;
    entry.pid = identity.pid;
    entry.pidStartTime = identity.startTime;
    entry.epoch = identity.epoch;
    entry.supervisorState = stateName(SUPERVISOR_STATE_NAMES, identity.supervisorState);
  }
  const locked = entry.lockedBy.length > 0;
  const lockNote = () => `locked by pid ${entry.lockedBy.join(', ')}`;
  if (probe.kind === 'foreign') {
    entry.status = 'foreign';
    entry.note = probe.reason;
    return;
  }
  if (probe.kind === 'not-ready') {
    if (locked) {
      entry.status = 'creating';
      entry.note = `${probe.reason}; ${lockNote()}`;
    } else if (identity !== null) {
      if (processRuns(identity.pid, identity.startTime)) {
        entry.status = 'creating';
        entry.note = `${probe.reason}; its creator pid ${identity.pid} runs`;
      } else {
        entry.status = 'stale';
        entry.note = `its creator pid ${identity.pid} is gone; it died while formatting the segment`;
        entry.removable = true;
      }
    } else if (Date.now() - modifiedMs < CREATING_GRACE_MS) {
      entry.status = 'creating';
      entry.note = probe.reason;
    } else {
      entry.status = 'incomplete';
      entry.note = `${buffer.byteLength === 0 ? 'empty' : isZeroFilled(buffer) ? 'zero-filled' : 'header incomplete'}, no process holds it: nothing proves it is a PhoenixIPC segment, so clean leaves it (remove it by hand if you are sure)`;
    }
    return;
  }
  // A complete, valid header (probe 'ready' implies a trusted identity).
  const pid = identity?.pid ?? 0;
  const startTime = identity?.startTime ?? 0;
  const supervisorRuns = processRuns(pid, startTime);
  const notes: string[] = [];
  try {
    const layout = PhoenixShmLayout.attach(buffer);
    entry.clients = layout.slots.filter((slot) => slot.index !== 0 && slot.state === SlotState.Active).length;
    entry.workers = layout.channels.length;
    entry.workersRunning = layout.channels.filter((channel) => channel.state === WorkerState.Running).length;
    if (!supervisorRuns) {
      entry.orphanWorkers = layout.channels
        .filter((channel) => channel.pid > 0 && processRuns(channel.pid, channel.pidStartTime))
        .map((channel) => channel.pid);
    }
  } catch (error) {
    notes.push(`damaged: ${(error as Error).message}`);
  }
  if (supervisorRuns) {
    entry.status = 'alive';
    if (entry.supervisorState !== 'running') notes.unshift(`supervisor ${entry.supervisorState}`);
  } else {
    entry.status = 'stale';
    notes.unshift(
      pid > 0 ? `supervisor pid ${pid} is gone` : 'no supervisor pid recorded',
      ...(entry.supervisorState === 'retired' ? ['retired (taken over)'] : []),
    );
    if (locked) notes.push(`${lockNote()} (a takeover may be in progress): kept`);
    if (entry.orphanWorkers.length > 0)
      notes.push(`worker pid ${entry.orphanWorkers.join(', ')} still running: kept until they exit`);
    entry.removable = !locked && entry.orphanWorkers.length === 0;
  }
  entry.note = notes.length > 0 ? notes.join('; ') : null;
}

/** Every entry of /dev/shm (optionally only names starting with `prefix`), classified. */
export function scanSegments(prefix = ''): SegmentEntry[] {
  const locks = readLocks();
  const entries: SegmentEntry[] = [];
  for (const name of listSegmentNames(prefix)) {
    const entry = classifySegment(name, locks);
    if (entry !== null) entries.push(entry);
  }
  return entries;
}
