/**
 * Early word of a child process's death (see native/death-watch.cc): each
 * watched process holds one slot of a memfd of robust mutexes on its main
 * thread; the kernel releases it as soon as that thread starts exiting, before
 * the process's memory is torn down and long before it is a zombie (what
 * pidfds, SIGCHLD and waitpid report). Linux only.
 *
 *   supervisor: const watch = new DeathWatch(256, (slot, died) => ...);
 *               give the child watch.fd (spawnProcess fds) and a free slot
 *   child:      holdDeathWatchSlot(fd, slot)   // on its main thread, once
 *   supervisor: watch.arm(slot)                // after the child said it holds it
 */
import { loadBinding } from './binding.js';
import { FdWatcher } from './doorbell.js';
import { invalidArgument } from './errors.js';

export class DeathWatch {
  /** The memfd of slots, to hand to children (close-on-exec here). */
  readonly fd: number;
  readonly slots: number;
  readonly #watcher: FdWatcher;
  #closed = false;

  /**
   * `onEvent(slot, died)` runs on the event loop for each armed slot: `died`
   * true when its holder's main thread began to exit, false when nobody held
   * the slot when it was armed. Either way the slot is free again (once its
   * process is reaped, for a death). An error onEvent throws becomes an
   * uncaught exception on the next tick, and the other events of its batch
   * are still handed over. Throws ERR_PHOENIX_UNSUPPORTED_PLATFORM
   * where there are no robust process-shared mutexes.
   */
  constructor(slots: number, onEvent: (slot: number, died: boolean) => void) {
    if (typeof onEvent !== 'function') throw invalidArgument('onEvent must be a function');
    const binding = loadBinding();
    const { fd, eventFd } = binding.createDeathWatch(slots);
    this.fd = fd;
    this.slots = slots;
    let watcher: FdWatcher | undefined;
    try {
      watcher = new FdWatcher(eventFd, () => {
        if (this.#closed) return;
        // The batch is taken from the native side at once: a throw must not lose the events after it.
        for (const [slot, died] of binding.takeDeathWatchEvents(fd)) {
          try {
            onEvent(slot, died);
          } catch (error) {
            process.nextTick(rethrow, error);
          }
        }
      });
      watcher.start();
    } catch (error) {
      // No memory for the watcher: the watch's fds must not outlive the error.
      watcher?.close();
      binding.closeDeathWatch(fd);
      throw error;
    }
    this.#watcher = watcher;
    this.#watcher.unref(); // the processes watched keep the supervisor alive, not this
  }

  /** Parks a thread on `slot`; arm it once its process holds it. One event per arm. */
  arm(slot: number): void {
    if (this.#closed) return;
    loadBinding().armDeathWatch(this.fd, slot);
  }

  /** No more events; parked threads end when their process dies (or within 5 minutes). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    loadBinding().closeDeathWatch(this.fd);
  }
}

/**
 * In a watched child: takes `slot` of the watch memfd `fd` on this thread (the
 * main thread) for the life of the process. False if another live process
 * holds it (this one is then not watched early).
 */
export function holdDeathWatchSlot(fd: number, slot: number): boolean {
  return loadBinding().holdDeathWatchSlot(fd, slot);
}

// An onEvent's error, as an uncaught exception on the next tick (as when it ran alone).
function rethrow(error: unknown): never {
  throw error;
}
