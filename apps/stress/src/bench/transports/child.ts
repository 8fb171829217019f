import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { once } from 'node:events';

/**
 * Forks a bench peer script and waits for its first message ({ t: 'ready', ... }).
 * Rejects if it exits first or does not get ready within `timeoutMs`.
 */
export async function forkPeer<M extends { t: string }>(
  script: string,
  args: string[],
  options: ForkOptions,
  timeoutMs = 30_000,
): Promise<{ child: ChildProcess; ready: M }> {
  const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...options });
  const ready = await new Promise<M>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not get ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before it was ready (code ${code}, signal ${signal})`));
    };
    child.once('exit', onExit);
    child.once('message', (message: M) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      if (message.t === 'ready') resolve(message);
      else reject(new Error(`${script} sent ${JSON.stringify(message)} instead of ready`));
    });
  });
  return { child, ready };
}

/** Asks a child to leave (`stop` message or SIGTERM), then SIGKILLs it after `graceMs`. */
export async function endChild(child: ChildProcess, graceMs = 3000, message?: unknown): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (message !== undefined && child.connected) child.send(message as object);
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
