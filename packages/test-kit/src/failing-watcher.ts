import { PhoenixError } from '@phoenix-ipc/errors';

/** What native-shm throws when libuv has no memory for a watcher (`syscall`: uv_poll_init or uv_poll_start). */
export function noMemoryForWatcher(syscall = 'uv_poll_init'): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_SYSCALL_FAILED', `${syscall} failed: Cannot allocate memory`, {
    errno: 12,
    syscall,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base takes any constructor arguments
type Constructor = new (...args: any[]) => object;

/**
 * For a `vi.mock` of native-shm: its FdWatcher, whose constructor fails as if libuv had no memory for the next
 * `budget.left` watchers that `which(fd, options)` picks (all, unless given), and works otherwise. Each failure
 * takes one from the budget. Failure paths that only out-of-memory reaches are tested with it.
 */
export function fdWatcherThatMayFail<T extends Constructor>(
  FdWatcher: T,
  budget: { left: number },
  which: (fd: number, options: { drain?: boolean } | undefined) => boolean = () => true,
): T {
  return class extends FdWatcher {
    // biome-ignore lint/suspicious/noExplicitAny: passed on as they came
    constructor(...args: any[]) {
      if (budget.left > 0 && which(args[0] as number, args[2] as { drain?: boolean } | undefined)) {
        budget.left--;
        throw noMemoryForWatcher();
      }
      super(...args);
    }
  };
}
