import { Buffer } from 'node:buffer';

/**
 * Fresh reply memory and V8's full collections (docs/tuning.md, "Big replies
 * and a big heap").
 *
 * A reply that `call` copies out is a Buffer the caller owns. From half of
 * Node's Buffer pool (4 KiB) up, each is an ArrayBuffer of its own, which V8
 * counts as external memory and frees only by collecting. V8 12 and older
 * (Node 20 and 22) frees the young ones on a background thread after each
 * scavenge. Until that thread is done, their bytes still count as allocated
 * since the last mark-compact. The check at the scavenge's end then finds the
 * old generation's room used up, and it starts a full marking. In any process
 * whose heap is over V8's 8 MB activation threshold, that means a
 * mark-compact every ~300 replies of 64 KiB. Freeing them inside the
 * scavenge's pause (`--no-concurrent-array-buffer-sweeping`) lets the check
 * see them gone.
 *
 * Measured with the caller probe, 64 KiB `call`s one at a time:
 * - Node 20, 10 MiB of live heap: 16 → 49 k calls/s, and 360 → 33 GC
 *   events other than scavenges (markings, mark-compacts) per 100 k calls;
 * - Node 20, 50 MiB: 7 → 48 k calls/s, and 300 → 0;
 * - Node 22: 22 → 43 and 10 → 32 k calls/s.
 * Node 24 (V8 13) accounts external memory another way and gains nothing, so
 * it is left alone.
 *
 * The flag is process-wide. It is set once, at the first such reply. It is
 * never set in a process started with the flag in either form, so an
 * application that chose keeps its choice.
 */
const FLAG = 'concurrent-array-buffer-sweeping';

/** Whether to sweep ArrayBuffers in the GC pause, given the node flags and V8's version. */
export function shouldSweepInPause(execArgv: readonly string[], v8Version: string): boolean {
  const major = Number.parseInt(v8Version, 10);
  if (!(major <= 12)) return false;
  return !execArgv.some((arg) => arg.replaceAll('_', '-').includes(FLAG));
}

/**
 * The note for replies copied into memory of their own: the first one of at
 * least half of Node's Buffer pool (an ArrayBuffer of its own) calls
 * `sweepInPause` when `shouldSweepInPause` says so, once. Later notes only
 * read a boolean.
 */
export function freshReplyMemoryNote(
  sweepInPause: () => void,
  execArgv: readonly string[] = process.execArgv,
  v8Version: string = process.versions.v8,
): (length: number) => void {
  let decided = false;
  return (length) => {
    if (decided || length < Buffer.poolSize >>> 1) return;
    decided = true;
    if (shouldSweepInPause(execArgv, v8Version)) sweepInPause();
  };
}

/** A reply of `length` bytes is about to be copied into memory of its own (once per process, see above). */
export const noteFreshReplyMemory = freshReplyMemoryNote(() => {
  // node:v8 costs a few ms to load: only processes that get big replies load it, and after their first one.
  void import('node:v8').then(
    (v8) => v8.setFlagsFromString(`--no-${FLAG}`),
    () => undefined,
  );
});
