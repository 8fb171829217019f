import { spawn } from 'node:child_process';
import { basename } from 'node:path';

/** How a process run to its end ended, with everything it printed. */
export interface ProcessRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

export interface RunToEndOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Past it the process is SIGKILLed and the promise rejects (default 60 000 ms). */
  timeoutMs?: number;
  /** Called with the pid once the process is spawned (to check afterwards that nothing of it is left). */
  onStart?: (pid: number) => void;
}

/** Runs `node <script> ...args` to its end, collecting its output: a CLI as a user runs it. */
export function runNodeToEnd(
  script: string,
  args: readonly string[],
  options: RunToEndOptions = {},
): Promise<ProcessRun> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid ?? -1;
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${basename(script)} ${args.join(' ')} ran past ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid });
    });
    options.onStart?.(pid);
  });
}
