import { signalEventFd } from '@phoenix-ipc/native-shm';

/**
 * The producer half of the parked-consumer handshake (Dekker style).
 *
 * Consumer: Atomics.store(parked, 1); look at its rings once more; sleep on
 * its eventfd only if still empty. Producer: publish the tail (Atomics.store),
 * then Atomics.load(parked); ring only if it can move the flag 1 -> 0.
 * Both sides store, then load the other's word, with sequentially consistent
 * atomics, so at least one of them sees the other: either the consumer's
 * re-check sees the new record or the producer sees "parked" — a wake-up is
 * never lost. The compareExchange makes one producer ring per park, so a busy
 * path (consumer not parked) costs one load and no syscall.
 *
 * Returns true if it rang.
 */
export function ringIfParked(words: Int32Array, parkedIndex: number, fd: number): boolean {
  if (Atomics.load(words, parkedIndex) === 0) return false;
  if (Atomics.compareExchange(words, parkedIndex, 1, 0) !== 1) return false;
  signalEventFd(fd);
  return true;
}
