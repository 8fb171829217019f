/**
 * Room for the segment in /dev/shm. A supervisor checks the free space
 * before it creates anything (statvfs), and native-shm reserves every page
 * at creation (posix_fallocate): a segment that does not fit fails here with
 * ERR_PHOENIX_NO_SPACE, and one that fits can never meet a SIGBUS later,
 * however full /dev/shm gets.
 */
import { fileSystemSpace, SHM_DIRECTORY, statSegment } from '@phoenix-ipc/native-shm';
import { PhoenixError } from '@phoenix-ipc/shm-layout';

const MIB = 1024 * 1024;

function describeBytes(bytes: number): string {
  return `${bytes} bytes (${(bytes / MIB).toFixed(1)} MiB)`;
}

/**
 * The ERR_PHOENIX_NO_SPACE a user can act on: sizes, the options that shrink
 * the segment, the container flag. `cause`: the native failure of a
 * reservation that failed although the free space sufficed (no inode left,
 * or another process took the room first); its errno and syscall are kept.
 */
export function noSpaceError(name: string, neededBytes: number, availableBytes: number, cause?: unknown): PhoenixError {
  const where = SHM_DIRECTORY ?? 'shared memory';
  const native = PhoenixError.isInstance(cause) ? cause : undefined;
  const what =
    neededBytes > availableBytes
      ? `segment ${name} needs ${describeBytes(neededBytes)} but ${where} has ${describeBytes(availableBytes)} free.`
      : `segment ${name} needs ${describeBytes(neededBytes)} and ${where} has ${describeBytes(availableBytes)} free, ` +
        `yet the system refused it (${native?.message ?? 'no room'}): ${where} may have no inode left (df -i), ` +
        'or another process took the room first.';
  return new PhoenixError(
    'ERR_PHOENIX_NO_SPACE',
    `${what} ` +
      'Shrink the segment with the options maxPayloadBytes, maxClients, normalQueueCapacity, vipQueueCapacity, ' +
      'normalWorkers or vipWorkers (PhoenixShmLayout.requiredSize(options) gives the size; docs/tuning.md has a table), ' +
      `or give ${where} more room (in a container: docker run --shm-size=256m, or a larger memory-backed emptyDir).`,
    {
      path: name,
      bytesNeeded: neededBytes,
      bytesAvailable: availableBytes,
      ...(native?.errno === undefined ? {} : { errno: native.errno }),
      ...(native?.syscall === undefined ? {} : { syscall: native.syscall }),
      cause,
    },
  );
}

/**
 * Throws ERR_PHOENIX_NO_SPACE unless /dev/shm can hold `neededBytes` for
 * `name`. A stale segment at the same name counts as free: taking it over
 * unlinks it first.
 */
export function checkSegmentSpace(name: string, neededBytes: number): void {
  const space = fileSystemSpace();
  if (space === null) return; // no statvfs-able shm file system here (macOS): the creation itself decides
  const stale = statSegment(name);
  const available = space.freeBytes + (stale.exists ? stale.size : 0);
  if (neededBytes > available) throw noSpaceError(name, neededBytes, available);
}

/** The free bytes of /dev/shm now (for the message of a reservation that failed). */
export function freeShmBytes(): number {
  return fileSystemSpace()?.freeBytes ?? 0;
}
