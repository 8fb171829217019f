// msgpack never uses the byte 0xc1, and msgpackr decodes it to a marker
// object (its C1) instead of failing: at any depth, garbage would reach a
// handler as a value. A message that decodes to one is refused.
import type { Buffer } from 'node:buffer';
import { C1 } from 'msgpackr';

const C1_BYTE = 0xc1;

/**
 * Throws if `value`, decoded by msgpackr from source[start, end), holds the
 * 0xc1 marker anywhere. A marker needs the byte in the message, so the walk
 * runs only then (one native scan of the bytes otherwise).
 */
export function refuseC1Marker(value: unknown, source: Buffer, start: number, end: number): void {
  if (value === C1) throw c1Error();
  if (typeof value !== 'object' || value === null) return;
  // Within the message only: `source` may be a whole shared-memory segment.
  if (source.subarray(start, end).indexOf(C1_BYTE) === -1) return;
  if (holdsC1(value)) throw c1Error();
}

function c1Error(): Error {
  return new Error('0xc1 is not a msgpack value');
}

// An explicit stack, not recursion: a deeply nested message must not overflow
// the call stack here (msgpackr's values have no cycles: no references are on).
function holdsC1(root: object): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === C1) return true;
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) continue;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push(value[i]);
    } else if (value instanceof Map) {
      for (const [key, item] of value) stack.push(key, item);
    } else if (value instanceof Set) {
      for (const item of value) stack.push(item);
    } else {
      for (const key of Object.keys(value)) stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return false;
}
