/**
 * Counts the listeners added to `target` from now on: its addEventListener is
 * wrapped, and the listeners still work. For tests that ask how often a
 * library subscribes (once per signal, not once per call).
 */
export function countAddedListeners(target: EventTarget): () => number {
  let added = 0;
  const add = target.addEventListener.bind(target);
  target.addEventListener = (...args: Parameters<EventTarget['addEventListener']>) => {
    added++;
    add(...args);
  };
  return () => added;
}
