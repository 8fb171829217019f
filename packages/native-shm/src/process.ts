import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { loadBinding } from './binding.js';
import { invalidArgument } from './errors.js';

const SIGNAL_NUMBERS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGHUP: 1, SIGINT: 2 };

/**
 * prctl(PR_SET_PDEATHSIG): the kernel sends `signal` to this process when the
 * thread that spawned it exits. Returns false where unsupported (non-Linux).
 * Race note: if the parent died before this call, no signal comes; compare
 * process.ppid with the expected parent afterwards.
 */
export function setParentDeathSignal(signal: 'SIGKILL' | 'SIGTERM' | 'SIGHUP' | 'SIGINT' | number): boolean {
  const number = typeof signal === 'number' ? signal : SIGNAL_NUMBERS[signal];
  if (number === undefined || !Number.isInteger(number)) throw invalidArgument(`unknown signal ${String(signal)}`);
  return loadBinding().setParentDeathSignal(number);
}

/**
 * pidfd_open(2): an fd that turns readable when `pid` exits; usable with
 * pollSync() or FdWatcher. Returns -1 where unsupported. Close it with closeFd.
 */
export function openPidFd(pid: number): number {
  return loadBinding().openPidFd(pid);
}

/** The largest block glibc's malloc serves from its heap (M_MMAP_THRESHOLD's ceiling on 64-bit). */
const HEAP_BLOCK_CEILING = 32 * 1024 * 1024;
/** The largest values retainFreedHeap has applied in this process (it only ever raises them). */
const retained = { keep: 0, heapUpTo: 0 };

/**
 * Asks malloc (glibc's mallopt) to keep up to `keepBytes` of freed memory
 * mapped instead of giving it back to the kernel, and to serve blocks up to
 * `heapUpToBytes` (at most 32 MiB) from its heap instead of mmap: memory that
 * is freed and allocated again at that size then costs no page faults. Large
 * replies copied into fresh Buffers are that pattern (a 64 KiB reply faults
 * in 16 pages otherwise). Process-wide, and only ever raises what an earlier
 * call set. Returns whether malloc took the values (false outside glibc).
 */
export function retainFreedHeap(keepBytes: number, heapUpToBytes: number): boolean {
  for (const [name, value] of [
    ['keepBytes', keepBytes],
    ['heapUpToBytes', heapUpToBytes],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
      throw invalidArgument(`${name} must be an integer from 0 to ${0x7fffffff}, got ${String(value)}`);
    }
  }
  const keep = Math.max(retained.keep, keepBytes);
  const heapUpTo = Math.max(retained.heapUpTo, Math.min(heapUpToBytes, HEAP_BLOCK_CEILING));
  if (keep === retained.keep && heapUpTo === retained.heapUpTo) return true;
  const applied = loadBinding().retainFreedHeap(keep, heapUpTo);
  if (applied) {
    retained.keep = keep;
    retained.heapUpTo = heapUpTo;
  }
  return applied;
}

/** What glibc's malloc holds in this process (mallinfo2). */
export interface MallocStats {
  /** In blocks it mapped one by one (mmap): given back to the kernel as soon as each is freed. */
  mmappedBytes: number;
  /** In its arenas (the heap and the arenas of other threads). */
  arenaBytes: number;
  /** Free in its arenas: freed memory it keeps mapped for the next allocations. */
  freeBytes: number;
}

/** What malloc holds now (to see retainFreedHeap at work); null outside glibc 2.33+. */
export function mallocStats(): MallocStats | null {
  return loadBinding().mallocStats();
}

/**
 * Lets another thread runnable on this CPU run (sched_yield); returns at once
 * when there is none. For spin loops on machines with more busy processes
 * than CPUs.
 */
export function yieldProcessor(): void {
  loadBinding().yieldProcessor();
}

/**
 * The last reading of readMonotonicClock(): CLOCK_MONOTONIC in milliseconds,
 * the clock monotonicNowMs() reads, at index 0.
 */
export const monotonicClockCell: Float64Array = sharedClockCell();
let readClock: (() => void) | null = null;

/**
 * The addon holds one cell per thread, so every copy of this module in a
 * thread must use the same one: an application that both imports and
 * requires our packages loads this module twice (its ESM and its CommonJS
 * build) but the addon once, and the copy that registered its cell first
 * would read a frozen clock (its calls with a timeout would fail as expired
 * at the workers). The cell lives on the thread's global object under a
 * registry symbol.
 */
function sharedClockCell(): Float64Array {
  const key = Symbol.for('@phoenix-ipc/native-shm.monotonicClockCell');
  const global = globalThis as unknown as Record<symbol, unknown>;
  const existing = global[key];
  if (existing instanceof Float64Array && existing.length >= 1) return existing;
  const cell = new Float64Array(1);
  Object.defineProperty(global, key, { value: cell, enumerable: false, configurable: true, writable: false });
  return cell;
}

/**
 * Reads CLOCK_MONOTONIC into monotonicClockCell[0]. Into a cell rather than
 * returned: a double returned from native code (or by performance.now())
 * is a fresh heap number on every call, and a worker reads the clock once
 * per request. The cell stays registered with the addon for good (this
 * module keeps it), one per thread.
 */
export function readMonotonicClock(): void {
  if (readClock === null) {
    const binding = loadBinding();
    binding.registerClockCell(monotonicClockCell);
    readClock = binding.readClock;
  }
  readClock();
}

/** Whether a process with this pid exists (it may belong to another user). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The process's start time in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), or null if it does not exist. Pid plus start time names a
 * process uniquely: a recycled pid has a different start time.
 */
export function processStartTime(pid: number): number | null {
  return numberField(statField(pid, 22));
}

/** A numeric stat field, or null if it could not be read. */
function numberField(field: ReturnType<typeof statField>): number | null {
  if (typeof field !== 'string') return null;
  const ticks = Number(field);
  return Number.isFinite(ticks) ? ticks : null;
}

/**
 * Field `field` (numbered from 1, as in proc(5)) of /proc/<pid>/stat;
 * undefined if there is no such process, UNREADABLE if the file exists but
 * this process could not read it (out of fds: EMFILE, ENFILE; no memory).
 */
function statField(pid: number, field: number): string | undefined | typeof UNREADABLE {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH' ? undefined : UNREADABLE;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field - 3];
}

const UNREADABLE = Symbol('unreadable');

/** The name of signal `number` ('SIGKILL'), or `SIG<number>` for one Node does not name. */
export function signalName(number: number): NodeJS.Signals {
  for (const [name, value] of Object.entries(constants.signals)) if (value === number) return name as NodeJS.Signals;
  return `SIG${number}` as NodeJS.Signals;
}

/** Whether the process `pid` that started at `startTime` (see processStartTime) still runs. */
export function isSameProcessAlive(pid: number, startTime: number): boolean {
  if (!isProcessAlive(pid)) return false;
  // A process that cannot read /proc just now (out of fds) must not call a live supervisor dead:
  // a client would give up on it, a new server would take its segment. kill(0) said it runs.
  const field = statField(pid, 22);
  if (field === UNREADABLE) return true;
  const actual = numberField(field);
  // Without /proc (non-Linux) we cannot tell a recycled pid apart; trust kill(0).
  return actual === null ? process.platform !== 'linux' : actual === startTime;
}

/**
 * How a process that is exiting will end, as waitpid will report it: field
 * 52 of /proc/<pid>/stat, which the kernel sets when the exit begins (before
 * the process's memory is released; see DeathWatch). Null if it cannot be read
 * or the process is not exiting yet (Linux 3.5+, a process we may trace).
 */
export function exitStatusOf(pid: number): { code: number | null; signal: NodeJS.Signals | null } | null {
  const status = numberField(statField(pid, 52));
  if (status === null || !Number.isInteger(status) || status <= 0) return null;
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: signalName(signal) };
}
