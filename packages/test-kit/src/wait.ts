/** Bounded waiting on observable state. Tests wait for a condition, never for a guessed number of milliseconds. */

/** Lets `ms` pass. For ordering, use waitUntil; a sleep only belongs where the test is about elapsed time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `predicate` (every few ms) until it holds; throws, naming `what`, once
 * `timeoutMs` has passed. The timeout is a watchdog against hangs, never a
 * performance assertion: make it generous.
 */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}
