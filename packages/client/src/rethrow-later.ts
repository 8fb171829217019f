/**
 * Gives an error thrown by application code (a reply handler, a call
 * observer) to the process as an uncaught exception on the next tick. Thrown
 * on at once, it would end the loop that called that code halfway, and the
 * loop's own catch would misread it: a reply reader takes any throw for a
 * corrupt ring.
 */
export function rethrowLater(error: unknown): void {
  process.nextTick(rethrow, error);
}

function rethrow(error: unknown): never {
  throw error;
}
