import { retainFreedHeap } from '@phoenix-ipc/native-shm';
import { describeValue, PhoenixError } from '@phoenix-ipc/shm-layout';

/**
 * Keeping the memory of big replies mapped, in any process that calls
 * (IpcClient at connect, the supervisor at its first own call). A reply
 * copied into a new Buffer is freed by the GC in batches; glibc gives such
 * memory back to the kernel past 128 KiB free (its trim threshold), and the
 * next large reply faults fresh pages in: 16 per 64 KiB, ~10 µs each on a
 * small VM. Which happens depends on where the freed blocks lie in the heap,
 * so a process without this flips between ~12 and ~200 µs per 64 KiB call
 * from one run to the next (docs/benchmarks-history.md, 23rd session).
 */

/** The option retainFreedMemoryMb's default, for IpcClient and IpcServer. */
const DEFAULT_RETAIN_FREED_MEMORY_MB = 64;
/** Its largest value: keepBytes must stay a 32-bit int. */
const MAX_RETAIN_FREED_MEMORY_MB = 2047;
/** glibc's own mmap threshold: replies smaller than this come from its heap anyway. */
const GLIBC_MMAP_THRESHOLD = 128 * 1024;

/** Validates the option retainFreedMemoryMb (undefined: the default). */
export function checkRetainFreedMemoryMb(value: unknown): number {
  if (value === undefined) return DEFAULT_RETAIN_FREED_MEMORY_MB;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_RETAIN_FREED_MEMORY_MB) {
    throw new PhoenixError(
      'ERR_PHOENIX_INVALID_ARGUMENT',
      `option retainFreedMemoryMb must be an integer from 0 to ${MAX_RETAIN_FREED_MEMORY_MB}, got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * Raises glibc's trim threshold to `retainMb` MiB and its mmap threshold to
 * hold a reply of `maxPayloadBytes` (retainFreedHeap: process-wide, raised
 * only, no effect outside glibc). 0 leaves malloc alone.
 */
export function retainReplyMemory(retainMb: number, maxPayloadBytes: number): void {
  if (retainMb > 0) retainFreedHeap(retainMb * 1024 * 1024, Math.max(GLIBC_MMAP_THRESHOLD, maxPayloadBytes + 4096));
}
