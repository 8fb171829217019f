/**
 * An application's live heap, for the rows issue 16 asks to measure "in a
 * client holding a live application heap (for example 200 MB of small
 * objects)": chains of small objects that stay reachable as long as the
 * returned LiveHeap is.
 */

/** A small object of an application's live heap (two numbers and a link: ~48 B on 64-bit V8). */
interface LiveObject {
  id: number;
  weight: number;
  next: LiveObject | null;
}

export interface LiveHeap {
  /** Heap used once the live objects were made (after a full GC). */
  bytes: number;
  objects: number;
  /** Holds the objects: they stay live while this does. */
  readonly roots: readonly unknown[];
}

/** Makes ~`megabytes` MB of live small objects. Needs --expose-gc, to measure from a collected heap. */
export function buildLiveHeap(megabytes: number): LiveHeap {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('a live heap is measured with --expose-gc');
  collect();
  const base = process.memoryUsage().heapUsed;
  const live: LiveObject[] = [];
  let previous: LiveObject | null = null;
  for (let i = 0; ; i++) {
    const object: LiveObject = { id: i, weight: i * 0.5, next: previous };
    live.push(object);
    // Chains of 1024: old-generation pointers a full GC has to follow, as an application's do.
    previous = (i & 1023) === 0 ? null : object;
    if ((i & 0xffff) === 0 && process.memoryUsage().heapUsed - base >= megabytes * 1024 * 1024) break;
  }
  collect();
  return { bytes: process.memoryUsage().heapUsed, objects: live.length, roots: live };
}
