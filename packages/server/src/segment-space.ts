/**
 * Room for the segment in /dev/shm. A supervisor checks the free space
 * before it creates anything (statvfs), and native-shm reserves every page
 * at creation (posix_fallocate): a segment that does not fit fails here with
 * ERR_PHOENIX_NO_SPACE, and one that fits can never meet a SIGBUS later,
 * however full /dev/shm gets.
 */
import { constants } from 'node:os';
import { fileSystemSpace, SHM_DIRECTORY, statSegment } from '@phoenix-ipc/native-shm';
import { PhoenixError } from '@phoenix-ipc/shm-layout';

const MIB = 1024 * 1024;

/**
 * Why the free-space check refused a segment, as the errno and system call
 * of a native failure: the reservation would have failed with ENOSPC, and
 * statvfs is what said so.
 */
const OUT_OF_ROOM = { errno: constants.errno.ENOSPC, syscall: 'statvfs' };

function describeBytes(bytes: number): string {
  return `${bytes} bytes (${(bytes / MIB).toFixed(1)} MiB)`;
}

/**
 * The ERR_PHOENIX_NO_SPACE a user can act on: sizes, the options that shrink
 * the segment, the container flag. `cause`: the native failure of a
 * reservation that failed although the free space sufficed (no inode left,
 * or another process took the room first): its errno and syscall are kept.
 * Without one, the free space did not suffice: OUT_OF_ROOM's. `availableBytes`:
 * null where statvfs cannot tell (freeShmBytes).
 */
export function noSpaceError(
  name: string,
  neededBytes: number,
  availableBytes: number | null,
  cause?: unknown,
): PhoenixError {
  const where = SHM_DIRECTORY ?? 'shared memory';
  const native = PhoenixError.isInstance(cause) ? cause : undefined;
  const { errno, syscall } = native ?? (cause === undefined ? OUT_OF_ROOM : {});
  const refused = `the system refused it (${native?.message ?? 'no room'})`;
  const what =
    availableBytes === null
      ? `segment ${name} needs ${describeBytes(neededBytes)} and ${refused}: ${where} has no size limit of its own, ` +
        "so the machine's memory (or the container's memory limit) is what ran out."
      : neededBytes > availableBytes
        ? `segment ${name} needs ${describeBytes(neededBytes)} but ${where} has ${describeBytes(availableBytes)} free.`
        : `segment ${name} needs ${describeBytes(neededBytes)} and ${where} has ${describeBytes(availableBytes)} free, ` +
          `yet ${refused}: ${where} may have no inode left (df -i), or another process took the room first.`;
  return new PhoenixError(
    'ERR_PHOENIX_NO_SPACE',
    `${what} ` +
      'Shrink the segment with the options maxPayloadBytes, maxClients, normalQueueCapacity, vipQueueCapacity, ' +
      'normalWorkers or vipWorkers (PhoenixShmLayout.requiredSize(options) gives the size; docs/tuning.md has a table), ' +
      `or give ${where} more room (in a container: docker run --shm-size=256m, or a larger memory-backed emptyDir).`,
    {
      path: name,
      bytesNeeded: neededBytes,
      ...(availableBytes === null ? {} : { bytesAvailable: availableBytes }),
      ...(errno === undefined ? {} : { errno }),
      ...(syscall === undefined ? {} : { syscall }),
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/**
 * Throws ERR_PHOENIX_NO_SPACE unless /dev/shm can hold `neededBytes` for
 * `name`. A stale segment at the same name counts as free: taking it over
 * unlinks it first.
 */
export function checkSegmentSpace(name: string, neededBytes: number): void {
  const free = freeShmBytes();
  if (free === null) return; // statvfs cannot tell: the reservation itself decides
  const stale = statSegment(name);
  const available = free + (stale.exists ? stale.size : 0);
  if (neededBytes > available) throw noSpaceError(name, neededBytes, available);
}

/**
 * The free bytes of /dev/shm now, or null where statvfs cannot tell: no shm
 * file system to ask (macOS), or a tmpfs mounted without a size limit
 * (size=0), which reports no blocks at all, none of them free. Such a tmpfs
 * is bounded by memory alone, and the reservation finds out.
 */
export function freeShmBytes(): number | null {
  const space = fileSystemSpace();
  return space === null || space.totalBytes === 0 ? null : space.freeBytes;
}
