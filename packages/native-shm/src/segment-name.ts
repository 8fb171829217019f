import { invalidArgument } from './errors.js';

/** POSIX allows `/` followed by 1 to 254 bytes (255 in all); we add: no `/` and no NUL after the first. */
export const MAX_SEGMENT_NAME_BYTES = 255;

/** Returns why `name` is not a valid segment name, or null when it is. */
export function segmentNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return `segment name must be a string, got ${typeof name}`;
  if (!name.startsWith('/')) return `segment name must start with '/', got ${JSON.stringify(name)}`;
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 2) return "segment name must have at least one byte after '/'";
  if (bytes > MAX_SEGMENT_NAME_BYTES)
    return `segment name is ${bytes} bytes, at most ${MAX_SEGMENT_NAME_BYTES} allowed`;
  if (name.indexOf('/', 1) !== -1)
    return `segment name must not contain '/' after the first character: ${JSON.stringify(name)}`;
  if (name.includes('\0')) return 'segment name must not contain NUL';
  // /dev/shm/. and /dev/shm/.. are directories, never a segment.
  if (name === '/.' || name === '/..') return `segment name must not be ${JSON.stringify(name)}`;
  return null;
}

export function isValidSegmentName(name: unknown): name is string {
  return segmentNameProblem(name) === null;
}

/** Throws ERR_PHOENIX_INVALID_ARGUMENT naming the problem. */
export function validateSegmentName(name: unknown): asserts name is string {
  const problem = segmentNameProblem(name);
  if (problem !== null) throw invalidArgument(problem);
}
