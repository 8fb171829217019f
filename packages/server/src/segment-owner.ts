import {
  isSameProcessAlive,
  processStartTime,
  SharedSegment,
  statSegment,
  unlinkSegment,
} from '@phoenix-ipc/native-shm';
import {
  PhoenixError,
  PhoenixShmLayout,
  SlotState,
  SUPERVISOR_SLOT,
  SupervisorState,
  WorkerState,
} from '@phoenix-ipc/shm-layout';
import { checkSegmentSpace, freeShmBytes, noSpaceError } from './segment-space.js';
import type { ResolvedServerOptions } from './server-options.js';

/** The header fields a supervisor writes at creation (and puts back if a broken peer overwrites them). */
export interface SegmentIdentity {
  epoch: number;
  supervisorPid: number;
  supervisorStartTime: number;
  controlNonce: number;
}

/** A segment this supervisor created and formatted, its own caller slot taken. */
export interface ClaimedSegment {
  segment: SharedSegment;
  layout: PhoenixShmLayout;
  identity: SegmentIdentity;
}

/**
 * Creates (or takes over) segment `name`, sized and formatted for `options`,
 * with the supervisor's own caller slot (SUPERVISOR_SLOT) active. Fails
 * ERR_PHOENIX_NO_SPACE when /dev/shm cannot hold it; nothing is left behind
 * on failure.
 */
export function claimSegment(name: string, options: ResolvedServerOptions): ClaimedSegment {
  const size = PhoenixShmLayout.requiredSize(options.layout);
  checkSegmentSpace(name, size);
  let owned: OwnedSegment;
  try {
    owned = acquireSegment(name, size, options.mode);
  } catch (error) {
    // Another process took the room between the check and the reservation.
    if (PhoenixError.isInstance(error) && error.code === 'ERR_PHOENIX_NO_SPACE')
      throw noSpaceError(name, size, freeShmBytes(), error);
    throw error;
  }
  try {
    const own = ownIdentity();
    const identity: SegmentIdentity = {
      epoch: owned.epoch,
      supervisorPid: own.pid,
      supervisorStartTime: own.startTime,
      controlNonce: (Math.random() * 0xffffffff) >>> 0,
    };
    const layout = PhoenixShmLayout.format(owned.segment.buffer, options.layout, identity);
    const ownSlot = layout.getSlot(SUPERVISOR_SLOT);
    ownSlot.pid = process.pid;
    ownSlot.pidStartTime = own.startTime;
    ownSlot.generation = 1;
    ownSlot.state = SlotState.Active;
    layout.bumpSlotEpoch();
    return { segment: owned.segment, layout, identity };
  } catch (error) {
    owned.segment.close();
    unlinkSegment(name);
    throw PhoenixError.from(error);
  }
}

export interface OwnedSegment {
  segment: SharedSegment;
  /** 1 for a fresh name; the dead owner's epoch + 1 after a takeover. */
  epoch: number;
}

/**
 * Creates the segment `name` for this supervisor, or takes over the stale
 * segment of a dead one. The rules:
 *  - A live owner (it holds the segment's flock for its whole life, and its
 *    pid + start time still name a running process) is never disturbed:
 *    ERR_PHOENIX_SEGMENT_EXISTS.
 *  - A file that is not a complete, valid PhoenixIPC segment (any magic,
 *    version, size or checksum problem, even with our magic) is never
 *    overwritten: ERR_PHOENIX_BAD_SEGMENT.
 *  - A valid segment whose owner is dead is retired (its header says so,
 *    for any straggler that still maps it), its workers are killed if any
 *    linger, its name unlinked, and a fresh segment created with the next
 *    epoch. The old one's requests are never run: their callers were told
 *    ERR_PHOENIX_SERVER_GONE when the old supervisor died.
 */
export function acquireSegment(name: string, size: number, mode: number): OwnedSegment {
  for (let attempt = 0; attempt < 3; attempt++) {
    const fresh = createExclusive(name, size, mode);
    if (fresh !== null) return { segment: fresh, epoch: 1 };
    const takeover = retireStale(name);
    if (takeover === null) continue; // it vanished meanwhile: try to create again
    const created = createExclusive(name, size, mode);
    if (created !== null) return { segment: created, epoch: takeover.epoch + 1 };
  }
  throw new PhoenixError('ERR_PHOENIX_SEGMENT_EXISTS', `another supervisor is taking ${name} over at the same time`);
}

/**
 * How long a segment another supervisor is creating may stay unlocked and unformatted. Its creator locks it once
 * it has sized it (milliseconds, for the biggest) and then formats it: beyond this it was abandoned.
 */
const CREATION_GRACE_MS = 1000;
/** Between two looks at a name another supervisor holds for a moment. */
const RETRY_PAUSE_MS = 1;
const pauseCell = new Int32Array(new SharedArrayBuffer(4));

function pause(ms: number): void {
  Atomics.wait(pauseCell, 0, 0, ms);
}

function createExclusive(name: string, size: number, mode: number): SharedSegment | null {
  let segment: SharedSegment;
  try {
    segment = SharedSegment.open(name, { create: true, exclusive: true, size, mode });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_PHOENIX_SEGMENT_EXISTS') return null;
    throw PhoenixError.from(error);
  }
  // The name is ours. Another supervisor starting at the same moment may be probing it (retireStale): it holds
  // the lock only while it looks, and then waits for us to lock and format.
  let locked = false;
  try {
    const deadline = performance.now() + CREATION_GRACE_MS;
    while (!(locked = segment.tryLock()) && performance.now() < deadline) pause(RETRY_PAUSE_MS);
  } finally {
    // Never locked (or the lock failed): give the name back rather than leave an unformatted file that blocks it.
    if (!locked) {
      const ours = segment.stat();
      segment.close();
      const current = statSegment(name);
      if (current.exists && current.inode === ours.inode) unlinkSegment(name);
    }
  }
  return locked ? segment : null;
}

// Retires the stale segment at `name`; null if there is none any more. A segment another supervisor is creating
// right now is not stale: it is waited for until its creator holds it (ERR_PHOENIX_SEGMENT_EXISTS).
function retireStale(name: string): { epoch: number } | null {
  const deadline = performance.now() + CREATION_GRACE_MS;
  for (;;) {
    const outcome = retireIfStale(name);
    if (outcome === null || 'epoch' in outcome) return outcome;
    if (performance.now() >= deadline) throw notASegment(name, outcome.notReady);
    pause(RETRY_PAUSE_MS);
  }
}

function notASegment(name: string, reason: string): PhoenixError {
  return new PhoenixError(
    'ERR_PHOENIX_BAD_SEGMENT',
    `${name} exists and is not a valid PhoenixIPC segment (${reason}); it is left untouched`,
  );
}

/** One look at `name`: retired (its epoch), gone (null), or not ready yet (why). */
function retireIfStale(name: string): { epoch: number } | { notReady: string } | null {
  let existing: SharedSegment;
  try {
    existing = SharedSegment.open(name);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_PHOENIX_SEGMENT_NOT_FOUND') return null;
    throw PhoenixError.from(error);
  }
  try {
    if (!existing.tryLock()) {
      throw new PhoenixError('ERR_PHOENIX_SEGMENT_EXISTS', `segment ${name} is owned by a live supervisor`);
    }
    const probe = PhoenixShmLayout.probe(existing.buffer);
    if (probe.kind === 'not-ready') return { notReady: probe.reason };
    if (probe.kind !== 'ready') throw notASegment(name, probe.reason);
    const layout = PhoenixShmLayout.attach(existing.buffer);
    const pid = layout.supervisorPid;
    if (pid !== process.pid && isSameProcessAlive(pid, layout.supervisorStartTime)) {
      throw new PhoenixError(
        'ERR_PHOENIX_SEGMENT_EXISTS',
        `segment ${name} is owned by a live supervisor (pid ${pid})`,
      );
    }
    layout.supervisorState = SupervisorState.Retired;
    for (const channel of layout.channels) {
      const workerPid = channel.pid;
      if (
        workerPid > 0 &&
        channel.state !== WorkerState.Stopped &&
        isSameProcessAlive(workerPid, channel.pidStartTime)
      ) {
        try {
          process.kill(workerPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // Unlink only the file we validated, not one that replaced it meanwhile.
    const ours = existing.stat();
    const current = statSegment(name);
    if (current.exists && current.inode === ours.inode) unlinkSegment(name);
    return { epoch: layout.epoch };
  } finally {
    existing.close();
  }
}

/** This process's identity for the segment header. */
export function ownIdentity(): { pid: number; startTime: number } {
  return { pid: process.pid, startTime: processStartTime(process.pid) ?? 0 };
}
