/**
 * Clears a timer that was unref'd. Node keeps an unref'd timer's list when
 * the timer is cleared (it expects HTTP to arm the same duration again soon),
 * so the list still comes due at the cleared timer's expiry and wakes the
 * process once, for nothing (NODE_DEBUG=timer: "timeout callback 5000" with
 * no callback run). Ref'd first, the timer takes its list with it when it
 * was the last one. On a small VM whose host is busy a wake-up costs 5-10 ms
 * of CPU, which is what an idle process is made of.
 */
export function clearUnrefTimer(timer: NodeJS.Timeout): void {
  timer.ref();
  clearTimeout(timer);
}
