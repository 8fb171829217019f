/**
 * Starting and reaping a child process with posix_spawn (see native/spawn.cc
 * for why not child_process): the caller's event loop is held only while the
 * kernel creates the child, never while a busy machine gets round to
 * scheduling it. Pair with openPidFd + FdWatcher to learn of its exit, and
 * reapChild to collect it.
 */
import { loadBinding } from './binding.js';
import { checkArray, checkOptionsObject, invalidArgument } from './errors.js';
import { signalName } from './process.js';

export interface SpawnProcessOptions {
  /** The executable's path (no PATH search). */
  file: string;
  /** The program's arguments, without its name (argv[0] is `file`). */
  args: readonly string[];
  /** The whole environment of the child; keys whose value is undefined are left out. */
  env: Readonly<Record<string, string | undefined>>;
  /** The child gets fds[i] as its fd 3 + i; 0-2 are inherited, close-on-exec fds are not. */
  fds?: readonly number[];
}

/** How a child ended: an exit code, or the signal that killed it. */
export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Starts a process; returns its pid. A missing or non-executable file throws at once. */
export function spawnProcess(options: SpawnProcessOptions): number {
  checkOptionsObject(options);
  if (options === undefined) throw invalidArgument('spawnProcess needs options');
  const { file, args, env, fds = [] } = options;
  if (typeof file !== 'string' || file.length === 0) throw invalidArgument('file must be a non-empty string');
  checkArray(args, 'args');
  checkArray(fds, 'fds');
  checkOptionsObject(env, 'env');
  const environment: string[] = [];
  for (const [key, value] of Object.entries(env ?? {})) {
    if (value === undefined) continue;
    if (key.length === 0 || key.includes('=')) throw invalidArgument(`env key ${JSON.stringify(key)} is not a name`);
    environment.push(`${key}=${String(value)}`);
  }
  return loadBinding().spawnProcess(file, [file, ...args.map(String)], environment, [...fds]);
}

/** Null while `pid` (a child of this process) runs; once it has ended, reaps it and says how. */
export function reapChild(pid: number): ChildOutcome | null {
  const raw = loadBinding().reapChild(pid);
  if (raw === null) return null;
  if (raw.signal === undefined) return { code: raw.code ?? 0, signal: null };
  return { code: null, signal: signalName(raw.signal) };
}

/** A connected pair of AF_UNIX stream sockets, both close-on-exec. */
export function createChannelPair(): [number, number] {
  const [a, b] = loadBinding().createChannelPair();
  return [a!, b!];
}
