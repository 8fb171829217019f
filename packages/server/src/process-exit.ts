/**
 * What must happen when the process exits (kill the workers, unlink the
 * segment), for every supervisor of the process behind one 'exit' listener:
 * a listener each made an application with eleven servers trip Node's
 * MaxListenersExceededWarning.
 */
const hooks = new Set<() => void>();

function runHooks(): void {
  for (const hook of [...hooks]) {
    try {
      hook();
    } catch {
      // The process is exiting: the other supervisors' cleanup still runs.
    }
  }
}

/** Runs `hook` when the process exits; call the returned function to forget it. */
export function atProcessExit(hook: () => void): () => void {
  if (hooks.size === 0) process.on('exit', runHooks);
  hooks.add(hook);
  return () => {
    if (hooks.delete(hook) && hooks.size === 0) process.removeListener('exit', runHooks);
  };
}
