// Helpers the server scenarios share: starting the supervisor fixture and
// client fixtures, stopping them cleanly, and reading the run log and the
// callers' outcome files.
import { existsSync, readFileSync } from 'node:fs';
import { statSegment } from '@phoenix-ipc/native-shm';
import type { IpcServerOptions } from '@phoenix-ipc/server';
import type { FixtureProcess, Message } from '../child.js';
import {
  type ClientConfig,
  emptyTally,
  type LoadConfig,
  type LoadTally,
  OUTCOME_OK,
  type ServerConfig,
} from '../protocol.js';
import { deriveSeed } from '../random.js';
import type { ScenarioContext } from '../scenario.js';

export const START_TIMEOUT_MS = 60_000;

export interface WorkerBrief {
  group: string;
  index: number;
  pid: number;
  alive: boolean;
  state: string;
  processed: number;
  crashes: number;
  restarts: number;
  queueDepth: number;
}

/** Small segments: the defaults (64 KiB payloads, 1024-deep queues) make 60 MiB ones. */
export const COMPACT: IpcServerOptions = {
  maxPayloadBytes: 1024,
  normalQueueCapacity: 256,
  vipQueueCapacity: 64,
};

export interface StartedServer {
  process: FixtureProcess;
  ready: Message;
  workers: WorkerBrief[];
  epoch: number;
}

export async function startServer(
  context: ScenarioContext,
  label: string,
  config: ServerConfig,
  execArgv: string[] = [],
): Promise<StartedServer> {
  const server = context.spawn(label, 'server', config, execArgv);
  const ready = await server.waitFor((m) => 'ready' in m || 'startFailed' in m, START_TIMEOUT_MS);
  if ('startFailed' in ready) throw new Error(`${label} did not start: ${ready.startFailed} ${ready.message}`);
  return { process: server, ready, workers: ready.stats as WorkerBrief[], epoch: Number(ready.epoch) };
}

export async function startClient(
  context: ScenarioContext,
  label: string,
  config: ClientConfig,
  timeoutMs = START_TIMEOUT_MS,
  execArgv: string[] = [],
): Promise<FixtureProcess> {
  const client = context.spawn(label, 'client', config, execArgv);
  const first = await client.waitFor((m) => 'connected' in m || 'connectFailed' in m, timeoutMs);
  if ('connectFailed' in first) throw new Error(`${label} could not connect: ${first.connectFailed}`);
  return client;
}

export function loadConfig(context: ScenarioContext, tag: string, overrides: Partial<LoadConfig>): LoadConfig {
  return {
    tag,
    lanes: 8,
    kind: 'log',
    highShare: 0.25,
    workUsMax: 300,
    payloadMin: 16,
    payloadMax: 256,
    timeoutMs: 0,
    seed: deriveSeed(context.seed, `load-${tag}`),
    ...overrides,
  };
}

/** Asks every process for its progress tally (best effort, for the progress line). */
export async function progressOf(processes: FixtureProcess[], timeoutMs = 1000): Promise<Partial<LoadTally>[]> {
  return (await progressByProcess(processes, timeoutMs)).filter((a): a is Partial<LoadTally> => a !== null);
}

/** Each process's load progress, in order: null for one that has exited or did not answer within `timeoutMs`. */
export function progressByProcess(
  processes: FixtureProcess[],
  timeoutMs = 1000,
): Promise<(Partial<LoadTally> | null)[]> {
  return Promise.all(
    processes.map((p) =>
      p.exit !== null
        ? null
        : p.request({ cmd: 'progress' }, 'progress', timeoutMs).then(
            (m) => m.progress as Partial<LoadTally> | null,
            () => null,
          ),
    ),
  );
}

/** Stops the load of every process (in parallel) and returns their tallies, in order. */
export async function stopLoads(processes: FixtureProcess[], drainMs: number): Promise<LoadTally[]> {
  const answers = await Promise.all(
    processes.map((p) => p.request({ cmd: 'load-stop', drainMs }, 'tally', drainMs + 15_000)),
  );
  return answers.map((m) => m.tally as LoadTally);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export function livePids(pids: number[]): number[] {
  return pids.filter((pid) => pid > 0 && alive(pid));
}

/** Waits until none of `pids` runs, up to `timeoutMs`; returns the ones still running. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = livePids(pids);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    left = livePids(left);
  }
  return left;
}

export interface StopReport {
  stopped: boolean;
  stopMs: number;
  /** Worker processes still running 3 s after stop() returned. */
  workersLeft: number[];
  segmentLeft: boolean;
}

/** Graceful stop: server.stop(), then the supervisor exits, its workers are gone and the segment is unlinked. */
export async function stopServer(
  server: FixtureProcess,
  name: string,
  workerPids: number[],
  graceMs = 2000,
): Promise<StopReport> {
  let stopped = false;
  let stopMs = -1;
  try {
    const answer = await server.request({ cmd: 'stop', graceMs }, 'stopped', graceMs + 15_000);
    stopped = answer.stopped === true;
    stopMs = Number(answer.ms);
  } catch {
    // reported below
  }
  await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  const workersLeft = await waitGone(workerPids, 3000);
  let segmentLeft = false;
  try {
    segmentLeft = statSegment(name).exists;
  } catch {
    segmentLeft = false;
  }
  return { stopped, stopMs, workersLeft, segmentLeft };
}

/** Every worker pid a supervisor fixture reported (ready, restarts, warm spares). */
export function workerPidsOf(server: FixtureProcess): number[] {
  const pids = new Set<number>();
  for (const message of server.messages) {
    if (Array.isArray(message.stats)) for (const s of message.stats as WorkerBrief[]) if (s.pid > 0) pids.add(s.pid);
    const spares = message.spares as Record<string, { pids: number[] }> | undefined;
    if (spares !== undefined) for (const group of Object.values(spares)) for (const pid of group.pids) pids.add(pid);
    if (message.event === 'workerRestart') pids.add(Number((message.detail as { pid: number }).pid));
  }
  return [...pids];
}

export function readOutcomes(path: string): Uint8Array {
  return existsSync(path) ? new Uint8Array(readFileSync(path)) : new Uint8Array(0);
}

export interface LogEntry {
  id: string;
  incarnation: number;
  at: number;
}

export function readLog(path: string): LogEntry[] {
  if (!existsSync(path)) return [];
  const entries: LogEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    const [id, incarnation, at] = line.split(' ');
    entries.push({ id: id!, incarnation: Number(incarnation), at: Number(at) });
  }
  return entries;
}

export interface ExactlyOnce {
  /** Requests the log shows more than once. */
  duplicated: number;
  /** Replied OK but never ran (a reply for a request no worker ran). */
  repliedNotRun: number;
  /** Ids in the log that no caller sent. */
  unknownRuns: number;
  /** Crash errors whose request had run before the worker died (informational). */
  poisonsThatRan: number;
  runs: number;
  examples: string[];
}

/** Matches the run log against each caller's outcomes (ids "<tag>.<seq>[@time][!dup]"). */
export function exactlyOnce(entries: LogEntry[], outcomes: Map<string, Uint8Array>): ExactlyOnce {
  const runs = new Map<string, Uint16Array>();
  for (const [tag, outcome] of outcomes) runs.set(tag, new Uint16Array(outcome.length));
  const result: ExactlyOnce = {
    duplicated: 0,
    repliedNotRun: 0,
    unknownRuns: 0,
    poisonsThatRan: 0,
    runs: entries.length,
    examples: [],
  };
  const example = (text: string) => {
    if (result.examples.length < 5) result.examples.push(text);
  };
  for (const entry of entries) {
    const match = /^([^.]+)\.(\d+)/.exec(entry.id);
    const counts = match === null ? undefined : runs.get(match[1]!);
    const seq = match === null ? -1 : Number(match[2]);
    if (counts === undefined || seq >= counts.length) {
      result.unknownRuns++;
      example(`ran ${entry.id}, which no caller sent (or sent after its outcomes were written)`);
      continue;
    }
    counts[seq] = counts[seq]! + 1;
    if (counts[seq] === 2) {
      result.duplicated++;
      example(`${entry.id} ran twice`);
    }
  }
  for (const [tag, outcome] of outcomes) {
    const counts = runs.get(tag)!;
    for (let seq = 0; seq < outcome.length; seq++) {
      if (outcome[seq] === OUTCOME_OK && counts[seq] === 0) {
        result.repliedNotRun++;
        example(`${tag}.${seq} was answered OK but never ran`);
      } else if (outcome[seq] === 2 && counts[seq]! > 0) {
        result.poisonsThatRan++;
      }
    }
  }
  return result;
}

/** Sums tallies. */
export function totalOf(tallies: LoadTally[]): LoadTally {
  const total = emptyTally();
  for (const tally of tallies) {
    total.crashedSeqIds.push(...(tally.crashedSeqIds ?? []));
    total.sent += tally.sent;
    total.ok += tally.ok;
    total.crashed += tally.crashed;
    total.mismatched += tally.mismatched;
    total.pending += tally.pending;
    for (const [code, n] of Object.entries(tally.errors)) total.errors[code] = (total.errors[code] ?? 0) + n;
    total.maxGapMs = Math.max(total.maxGapMs, tally.maxGapMs);
    total.latencyUs.max = Math.max(total.latencyUs.max, tally.latencyUs.max);
    total.latencyUs.p99 = Math.max(total.latencyUs.p99, tally.latencyUs.p99);
    total.latencyUs.p50 = Math.max(total.latencyUs.p50, tally.latencyUs.p50);
  }
  return total;
}

/** Runs the main phase: `durationMs` of sleeping with a progress update every `everyMs`. */
export async function mainPhase(
  context: ScenarioContext,
  status: () => Promise<string> | string,
  everyMs = 1000,
  durationMs = context.durationMs,
): Promise<void> {
  const started = Date.now();
  const end = started + durationMs;
  context.progress(0, 'running');
  while (Date.now() < end) {
    await context.sleep(Math.min(everyMs, Math.max(0, end - Date.now())));
    const text = await status();
    context.progress((Date.now() - started) / durationMs, text);
  }
}
