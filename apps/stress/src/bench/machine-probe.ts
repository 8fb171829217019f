/**
 * Which setting of the machine each job ran in: bench-native/machine-probe.c,
 * run before and after every job. A 1 × 1 pipelined row is bound by moving
 * cache lines between two CPUs and by how fast those CPUs run, and on a small
 * VM neither is fixed: the host may place the two vCPUs on cores that share
 * a cache or not, and may give a vCPU a core something else keeps busy, and
 * changes its mind every few minutes (docs/benchmarks.md, "This machine's
 * costs"). Each job's line and the JSON document carry both readings, and a
 * verdict whose rows were measured in different settings says so.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { median } from '../stress/stats.js';
import { compileC } from './native.js';
import type { TargetVerdict } from './report.js';

/** How long each probe bounces the line: long enough for a stable median, short next to any job. */
const PROBE_LINE_MS = 20;
/** A probe that takes longer than this is stopped and reads as no figure. */
const PROBE_TIMEOUT_MS = 2000;
/**
 * Line readings this far apart belong to different settings of the machine,
 * not to noise: ~100 against ~430 ns here, while one setting's readings stay
 * within ±15%.
 */
const LINE_SETTING_RATIO = 2;
/** The same for the loop: a shared core runs it ~1.45× slower; one setting stays within ±10%. */
const LOOP_SETTING_RATIO = 1.25;

/** One probe: the line's median round trip, and the slower CPU's loop time (both CPUs busy at once). */
export interface MachineReading {
  lineNs: number;
  loopUs: number;
}

/** A job's two readings; null where the probe gave none. */
export interface JobSetting {
  before: MachineReading | null;
  after: MachineReading | null;
}

/**
 * Compiles the probe into `workDir`; null (and why, for the log) where it
 * cannot measure: fewer than two CPUs, or no C compiler.
 */
export async function prepareMachineProbe(
  source: string,
  workDir: string,
): Promise<{ binary: string | null; reason: string }> {
  if (availableParallelism() < 2) return { binary: null, reason: 'this process may use one CPU only' };
  try {
    const { binary } = await compileC(source, workDir, 'machine-probe', ['-pthread']);
    return { binary, reason: '' };
  } catch (error) {
    return { binary: null, reason: (error as Error).message.split('\n')[0]! };
  }
}

const positive = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value > 0;

/** The probe's reading from its output line, or null if the line is not one. */
export function parseMachineProbe(stdout: string): MachineReading | null {
  try {
    const { roundTripNs, loopNs } = JSON.parse(stdout) as { roundTripNs?: unknown; loopNs?: unknown };
    if (!positive(roundTripNs) || !Array.isArray(loopNs) || loopNs.length !== 2 || !loopNs.every(positive)) return null;
    return { lineNs: roundTripNs, loopUs: Math.max(...(loopNs as number[])) / 1000 };
  } catch {
    return null;
  }
}

/** Runs the probe once (~30 ms); null without a binary, or when it fails. */
export function probeMachine(binary: string | null): MachineReading | null {
  if (binary === null) return null;
  try {
    return parseMachineProbe(
      execFileSync(binary, [String(PROBE_LINE_MS)], {
        encoding: 'utf8',
        timeout: PROBE_TIMEOUT_MS,
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
  } catch {
    return null;
  }
}

/** "line 452/447 ns, loop 952/1380 µs" (before/after) for a job's line; empty without readings. */
export function formatJobSetting(setting: JobSetting): string {
  const { before, after } = setting;
  if (before === null && after === null) return '';
  const show = (reading: MachineReading | null, pick: (reading: MachineReading) => number) =>
    reading === null ? '?' : pick(reading).toFixed(0);
  const line = (reading: MachineReading) => reading.lineNs;
  const loop = (reading: MachineReading) => reading.loopUs;
  return `line ${show(before, line)}/${show(after, line)} ns, loop ${show(before, loop)}/${show(after, loop)} µs`;
}

function spread(values: readonly number[]): string {
  return `min ${Math.min(...values).toFixed(0)}, median ${median(values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}`;
}

function readingsOf(settings: readonly JobSetting[]): MachineReading[] {
  return settings
    .flatMap((setting) => [setting.before, setting.after])
    .filter((reading): reading is MachineReading => reading !== null);
}

/** The run's spread of readings, for the line after the jobs; null without any. */
export function summarizeSettings(settings: readonly JobSetting[]): string | null {
  const readings = readingsOf(settings);
  if (readings.length === 0) return null;
  return `line ${spread(readings.map((reading) => reading.lineNs))} ns; loop ${spread(readings.map((reading) => reading.loopUs))} µs; ${readings.length} readings`;
}

/**
 * Null when every reading of `jobs` belongs to one setting of the machine;
 * else a note naming each job's readings. A verdict that compares rows of
 * different settings (or whose one job saw the setting change) says more
 * about the VM than about the code.
 */
export function settingsNote(jobs: readonly string[], settings: Readonly<Record<string, JobSetting>>): string | null {
  const readings = readingsOf(jobs.flatMap((job) => (settings[job] === undefined ? [] : [settings[job]!])));
  if (readings.length < 2) return null;
  const apart = (values: number[], ratio: number) => Math.max(...values) >= ratio * Math.min(...values);
  const lineApart = apart(
    readings.map((reading) => reading.lineNs),
    LINE_SETTING_RATIO,
  );
  const loopApart = apart(
    readings.map((reading) => reading.loopUs),
    LOOP_SETTING_RATIO,
  );
  if (!lineApart && !loopApart) return null;
  const each = jobs
    .filter((job) => settings[job] !== undefined)
    .map((job) => `${job} ${formatJobSetting(settings[job]!)}`);
  return `measured in different settings of the machine: ${each.join('; ')}`;
}

/** The verdicts, each with the settings note of its jobs appended to what it measured. */
export function annotateSettings(
  verdicts: readonly TargetVerdict[],
  settings: Readonly<Record<string, JobSetting>>,
): TargetVerdict[] {
  return verdicts.map((verdict) => {
    const note = verdict.jobs === undefined ? null : settingsNote(verdict.jobs, settings);
    return note === null ? verdict : { ...verdict, measured: `${verdict.measured} [${note}]` };
  });
}
