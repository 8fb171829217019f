/**
 * Runs a command with a /dev/shm of its own: a small tmpfs mounted in a
 * private mount namespace (`unshare -m`, or `unshare -rm` where unprivileged
 * user namespaces are allowed). Whatever the command and its children create
 * there vanishes with the namespace, so tests can fill /dev/shm, or make it too
 * small, without touching the machine's real one.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface PrivateShmResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Every stdout line that parsed as a JSON object, in order. */
  messages: Record<string, unknown>[];
}

export interface PrivateShmOptions {
  /** tmpfs size, as mount(8) takes it: '24m', '1m'. */
  size: string;
  /** The tmpfs's number of inodes (its root directory takes one): 1 leaves no room for any file, whatever its size. */
  inodes?: number;
  /** The whole run is killed (its process group) after this long. Default 60 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

let namespaceFlags: string[] | null | undefined;

/** `-m` as root, `-rm` where user namespaces work unprivileged; null when neither can mount a tmpfs. */
function unshareFlags(): string[] | null {
  if (namespaceFlags !== undefined) return namespaceFlags;
  const candidates = process.getuid?.() === 0 ? [['-m'], ['-rm']] : [['-rm']];
  namespaceFlags = null;
  for (const flags of candidates) {
    const probe = spawnSync('unshare', [...flags, 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /dev/shm'], {
      stdio: 'ignore',
      timeout: 10_000,
    });
    if (probe.status === 0) {
      namespaceFlags = flags;
      break;
    }
  }
  return namespaceFlags;
}

/** Runs `command` (argv) in a private /dev/shm of `options.size`; resolves when its whole process group is gone. */
export function runWithPrivateShm(command: string[], options: PrivateShmOptions): Promise<PrivateShmResult> {
  const flags = unshareFlags();
  if (flags === null) {
    return Promise.reject(
      new Error(
        'a private /dev/shm needs `unshare -m` (run as root) or unprivileged user namespaces (`unshare -rm`); neither works here',
      ),
    );
  }
  const script = 'mount -t tmpfs -o "$1" tmpfs /dev/shm && shift && exec "$@"';
  const mountOptions = `size=${options.size}${options.inodes === undefined ? '' : `,nr_inodes=${options.inodes}`}`;
  const child = spawn('unshare', [...flags, 'sh', '-c', script, 'sh', mountOptions, ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    // Its own process group: one kill reaches every process it started.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const killGroup = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(killGroup, options.timeoutMs ?? 60_000);
  process.once('exit', killGroup);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', killGroup);
      // The command may have left children behind: they die with the group.
      killGroup();
      const messages: Record<string, unknown>[] = [];
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          messages.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a message
        }
      }
      resolve({ code, signal, stdout, stderr, messages });
    });
  });
}
