import { PhoenixError } from '@phoenix-ipc/errors';
import { loadBinding, type RawStat } from './binding.js';
import { checkOptionsObject, invalidArgument } from './errors.js';
import { validateSegmentName } from './segment-name.js';

export interface OpenSegmentOptions {
  /** Create the segment if it does not exist (default false). */
  create?: boolean;
  /** With `create`: fail with ERR_PHOENIX_SEGMENT_EXISTS if the name exists (default false). */
  exclusive?: boolean;
  /**
   * Size in bytes of a segment this call creates. An existing segment keeps
   * its size. Every page of a created segment is reserved at once
   * (posix_fallocate on Linux): ERR_PHOENIX_NO_SPACE if /dev/shm cannot hold
   * it (nothing is left behind), and no SIGBUS later, however full /dev/shm gets.
   */
  size?: number;
  /** Permission bits of a segment this call creates (default 0o600). */
  mode?: number;
  /**
   * Map for inspection only: the mapping is copy-on-write, so a stray write can neither
   * reach the segment nor fault (default false).
   */
  readOnly?: boolean;
}

export interface SegmentStat {
  exists: boolean;
  /** Bytes; 0 when missing. */
  size: number;
  uid: number;
  gid: number;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  inode: number;
  /** 0 once the name has been unlinked (for a stat taken through an open fd). */
  links: number;
}

function toStat(raw: RawStat): SegmentStat {
  return {
    exists: raw.exists,
    size: raw.size ?? 0,
    uid: raw.uid ?? -1,
    gid: raw.gid ?? -1,
    mode: raw.mode ?? 0,
    inode: raw.inode ?? 0,
    links: raw.links ?? 0,
  };
}

function checkOptions(options: OpenSegmentOptions): void {
  checkOptionsObject(options);
  const { size, mode } = options;
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
    throw invalidArgument(`size must be a non-negative safe integer, got ${String(size)}`);
  }
  if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
    throw invalidArgument(`mode must be an integer within 0..0o777, got ${String(mode)}`);
  }
  if (options.create && (size === undefined || size === 0)) {
    throw invalidArgument('size is required (> 0) when create is true');
  }
  if (options.create && options.readOnly) throw invalidArgument('readOnly and create exclude each other');
  if (options.exclusive && !options.create) throw invalidArgument('exclusive requires create');
}

/**
 * A mapped POSIX shared-memory segment.
 *
 * `buffer` is an external ArrayBuffer over the mapping (no copy). After `close()`
 * the buffer is detached: every view over it has length 0, so JS cannot reach the
 * unmapped memory. Views made before close() read as empty and writes through
 * them throw or do nothing, they never touch freed memory.
 */
export class SharedSegment {
  readonly name: string;
  readonly created: boolean;
  readonly size: number;
  #buffer: ArrayBuffer;
  #fd: number;

  private constructor(name: string, raw: { fd: number; created: boolean; size: number; buffer: ArrayBuffer }) {
    this.name = name;
    this.created = raw.created;
    this.size = raw.size;
    this.#buffer = raw.buffer;
    this.#fd = raw.fd;
  }

  /** Opens (or with `create`, creates) and maps the segment `name`. */
  static open(name: string, options: OpenSegmentOptions = {}): SharedSegment {
    validateSegmentName(name);
    checkOptions(options);
    const raw = loadBinding().openSegment(
      name,
      options.create ?? false,
      options.exclusive ?? false,
      options.mode ?? 0o600,
      options.size ?? 0,
      options.readOnly ?? false,
    );
    return new SharedSegment(name, raw);
  }

  /** The mapping. Throws ERR_PHOENIX_BAD_FD after close(). */
  get buffer(): ArrayBuffer {
    if (this.#fd < 0) throw new PhoenixError('ERR_PHOENIX_BAD_FD', `segment ${this.name} is closed`);
    return this.#buffer;
  }

  /** The open descriptor (kept for locking and fstat); -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Unmaps the segment and closes its descriptor. Idempotent. Does not unlink. */
  close(): void {
    if (this.#fd < 0) return;
    const binding = loadBinding();
    binding.closeSegment(this.#buffer);
    binding.closeFd(this.#fd);
    this.#fd = -1;
  }

  /** flock(2): takes the lock if free and returns true; false if another open file holds it. */
  tryLock(kind: 'exclusive' | 'shared' = 'exclusive'): boolean {
    return loadBinding().lockFd(this.#requireFd(), kind === 'exclusive' ? 2 : 1, true);
  }

  /** flock(2), blocking until the lock is granted. */
  lock(kind: 'exclusive' | 'shared' = 'exclusive'): void {
    loadBinding().lockFd(this.#requireFd(), kind === 'exclusive' ? 2 : 1, false);
  }

  unlock(): void {
    loadBinding().lockFd(this.#requireFd(), 0, false);
  }

  /** fstat(2) of the open segment (links is 0 once its name has been unlinked). */
  stat(): SegmentStat {
    return toStat(loadBinding().statFd(this.#requireFd()));
  }

  #requireFd(): number {
    if (this.#fd < 0) throw new PhoenixError('ERR_PHOENIX_BAD_FD', `segment ${this.name} is closed`);
    return this.#fd;
  }
}

/** Removes the name from /dev/shm. Returns false if it did not exist. Mappings stay valid. */
export function unlinkSegment(name: string): boolean {
  validateSegmentName(name);
  return loadBinding().unlinkSegment(name);
}

/** Whether `name` exists, and its size, owner and mode, without opening it. */
export function statSegment(name: string): SegmentStat {
  validateSegmentName(name);
  return toStat(loadBinding().statSegment(name));
}

/** Size and free space of a file system, in bytes (statvfs). */
export interface FileSystemSpace {
  totalBytes: number;
  /** Bytes an unprivileged process may still allocate there. */
  freeBytes: number;
}

/** Where POSIX shared memory lives on this platform; null where it is not a file system we can ask. */
export const SHM_DIRECTORY: string | null = process.platform === 'linux' ? '/dev/shm' : null;

/** statvfs(2) of `path` (default: the shared-memory file system). */
export function fileSystemSpace(path: string | null = SHM_DIRECTORY): FileSystemSpace | null {
  if (path === null) return null;
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path must be a non-empty string');
  return loadBinding().statFileSystem(path);
}
