/**
 * How bench-main runs a job: in a fresh runner process of its own (its own
 * process group), with a watchdog, logging one line per job and recording
 * its failure or how busy other processes kept the machine meanwhile, and
 * the setting of the machine before and after it (machine-probe.ts).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { statSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import { killGroup, SEGMENT_PREFIX, trackGroup } from './cleanup.js';
import type { Job, JobResult, RunnerCommand, RunnerMessage } from './jobs.js';
import { formatJobSetting, type JobSetting, probeMachine } from './machine-probe.js';
import { peerScript } from './paths.js';
import { foreignLoad } from './proc.js';

/** Prints one line of the bench's output. */
export function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

let segmentCounter = 0;
export function nextSegment(): string {
  return `/${SEGMENT_PREFIX}${++segmentCounter}`;
}

/**
 * PHOENIX_BENCH_RUNNER_ARGS: extra node flags for every runner (the process
 * that is the client), e.g. "--trace-gc" to see its collections per phase
 * (NODE_OPTIONS refuses --trace-gc, and would reach every peer too).
 */
function runnerArgs(): string[] {
  const args = process.env.PHOENIX_BENCH_RUNNER_ARGS?.trim();
  return args ? args.split(/\s+/) : [];
}

/** Where util-linux's taskset is, or null: a runner pinned to one CPU needs it. */
export function tasksetPath(): string | null {
  for (const path of ['/usr/bin/taskset', '/bin/taskset']) if (existsSync(path)) return path;
  return null;
}

/**
 * Runs one job in a fresh runner process (its own process group), with a
 * watchdog. Resolves once the runner has exited and been reaped, with how
 * much of the machine other processes used meanwhile (noise). With `cpu`,
 * the runner is started through taskset on that CPU alone, and every process
 * it starts inherits the affinity. `signal` ends the job early (its whole
 * group, as a timeout does): a stress scenario's watchdog or Ctrl-C.
 */
export function runInRunner(
  job: Job,
  timeoutMs: number,
  execArgv: string[] = [],
  cpu?: number,
  signal?: AbortSignal,
): Promise<{ outcome: JobResult; foreignPercent: number }> {
  const nodeArgs = [...execArgv, ...runnerArgs()];
  const taskset = cpu === undefined ? null : tasksetPath();
  if (cpu !== undefined && taskset === null) {
    return Promise.reject(new Error('taskset (util-linux) is not installed: no runner can be pinned to one CPU'));
  }
  const load = foreignLoad();
  const child: ChildProcess = fork(peerScript('runner'), [], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
    ...(taskset === null
      ? { execArgv: nodeArgs }
      : // fork runs `execPath ...execArgv <runner>`: taskset then execs node with the IPC channel's fd intact.
        { execPath: taskset, execArgv: ['-c', String(cpu), process.execPath, ...nodeArgs] }),
  });
  const pid = child.pid!;
  trackGroup(pid);
  let outcome: JobResult | null = null;
  let failure: Error | null = null;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      failure ??= new Error(`timed out after ${timeoutMs / 1000} s`);
      killGroup(pid);
    }, timeoutMs);
    const abort = () => {
      failure ??= new Error('aborted');
      killGroup(pid);
    };
    if (signal?.aborted) abort();
    else signal?.addEventListener('abort', abort, { once: true });
    child.on('message', (message: RunnerMessage) => {
      if (message.t === 'ready') child.send({ t: 'job', job } satisfies RunnerCommand);
      else if (message.t === 'done') outcome = message.outcome;
      else if (message.t === 'error') failure ??= new Error(message.message);
    });
    child.once('exit', (code, exitSignal) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      if (outcome === null) failure ??= new Error(`the runner exited (code ${code}, signal ${exitSignal})`);
      resolve();
    });
  }).then(() => {
    // Whatever the outcome: nothing of this job survives it.
    killGroup(pid);
    if ('segment' in job && statSegment(job.segment).exists) unlinkSegment(job.segment);
    if (failure !== null || outcome === null) throw failure ?? new Error('no result');
    return { outcome, foreignPercent: load.stop() };
  });
}

/**
 * What the jobs of one run leave behind: their failures, and per job how
 * much of the machine other processes used and the setting of the machine
 * before and after it (machine-probe.ts; none where `probe` is null).
 */
export interface RunRecord {
  errors: string[];
  noise: Record<string, number>;
  probe: string | null;
  settings: Record<string, JobSetting>;
}

type ResultOf<K extends JobResult['kind']> = Extract<JobResult, { kind: K }> extends { result: infer R } ? R : never;

/**
 * Runs one job in a fresh runner and logs its line: `ok` with what it
 * measured (`summary`), or `FAIL` with why, which goes to `record.errors`.
 * Null when it failed: the run goes on without it.
 */
export async function runJob<K extends JobResult['kind']>(
  record: RunRecord,
  name: string,
  noiseKey: string,
  job: Job,
  kind: K,
  timeoutMs: number,
  summary: (result: ResultOf<K>) => string,
  execArgv: string[] = [],
  cpu?: number,
): Promise<ResultOf<K> | null> {
  const before = probeMachine(record.probe);
  const t0 = performance.now();
  try {
    const { outcome, foreignPercent } = await runInRunner(job, timeoutMs, execArgv, cpu);
    if (outcome.kind !== kind) throw new Error(`unexpected ${outcome.kind} result`);
    const result = outcome.result as ResultOf<K>;
    const seconds = ((performance.now() - t0) / 1000).toFixed(1).padStart(5);
    const setting = { before, after: probeMachine(record.probe) };
    record.noise[noiseKey] = foreignPercent;
    record.settings[noiseKey] = setting;
    const settingText = formatJobSetting(setting);
    log(
      `ok    ${name.padEnd(28)} ${seconds} s  ${summary(result)}; other load ${foreignPercent.toFixed(0)}%${settingText === '' ? '' : `; ${settingText}`}`,
    );
    return result;
  } catch (error) {
    record.errors.push(`${name}: ${(error as Error).message}`);
    log(`FAIL  ${name.padEnd(28)} ${(error as Error).message.split('\n')[0]}`);
    return null;
  }
}
