/**
 * The cache-line round trip between the machine's first two CPUs, taken
 * before and after every job (bench-native/line-probe.c). A 1 × 1 pipelined
 * row is bound by moving ring indices and records between two CPUs, and on
 * a small VM that cost is not fixed: the host may place the two vCPUs on
 * cores that share a cache or on cores that do not, and changes its mind
 * every few minutes (docs/benchmarks.md, "This machine's costs"). Each job's
 * line and the JSON document say which the job ran in, so that two rows
 * measured minutes apart can be read side by side.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { compileC } from './native.js';
import type { TargetVerdict } from './report.js';

/**
 * Readings this far apart belong to different settings of the machine, not
 * to noise: ~90 against ~450 ns here, while one setting's readings stay
 * within ±15%.
 */
const SETTING_RATIO = 2;

/** How long each probe bounces the line: long enough for a stable median, short next to any job. */
const PROBE_MS = 20;
/** A probe that takes longer than this is stopped and reads as no figure. */
const PROBE_TIMEOUT_MS = 2000;

/** A job's two readings in ns; null where the probe gave none. */
export interface LineRoundTrip {
  before: number | null;
  after: number | null;
}

/**
 * Compiles the probe into `workDir`; null (and why, for the log) where it
 * cannot measure: fewer than two CPUs, or no C compiler.
 */
export async function prepareLineProbe(
  source: string,
  workDir: string,
): Promise<{ binary: string | null; reason: string }> {
  if (availableParallelism() < 2) return { binary: null, reason: 'this process may use one CPU only' };
  try {
    const { binary } = await compileC(source, workDir, 'line-probe', ['-pthread']);
    return { binary, reason: '' };
  } catch (error) {
    return { binary: null, reason: (error as Error).message.split('\n')[0]! };
  }
}

/** The probe's median round trip in ns from its output line, or null if the line is not one. */
export function parseLineProbe(stdout: string): number | null {
  try {
    const value = (JSON.parse(stdout) as { roundTripNs?: unknown }).roundTripNs;
    return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

/** Runs the probe once (~20 ms); null without a binary, or when it fails. */
export function measureLineRoundTrip(binary: string | null): number | null {
  if (binary === null) return null;
  try {
    return parseLineProbe(
      execFileSync(binary, [String(PROBE_MS)], {
        encoding: 'utf8',
        timeout: PROBE_TIMEOUT_MS,
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
  } catch {
    return null;
  }
}

/** "450/452 ns" for a job's line; empty without figures. */
export function formatLineRoundTrip(reading: LineRoundTrip): string {
  if (reading.before === null && reading.after === null) return '';
  const ns = (value: number | null) => (value === null ? '?' : value.toFixed(0));
  return `line ${ns(reading.before)}/${ns(reading.after)} ns`;
}

/** The run's spread of readings, for the line after the jobs: "min 133, median 452, max 610 ns over 62 readings". */
export function summarizeLineRoundTrips(readings: readonly LineRoundTrip[]): string | null {
  const values = readings
    .flatMap((reading) => [reading.before, reading.after])
    .filter((value): value is number => value !== null)
    .sort((a, b) => a - b);
  if (values.length === 0) return null;
  const at = (fraction: number) => values[Math.min(values.length - 1, Math.floor(values.length * fraction))]!;
  return `min ${at(0).toFixed(0)}, median ${at(0.5).toFixed(0)}, max ${values.at(-1)!.toFixed(0)} ns over ${values.length} readings`;
}

/**
 * Null when every reading of `jobs` belongs to one setting of the machine;
 * else a note naming each job's readings. A verdict that compares rows of
 * different settings (or whose one job saw the setting change) says more
 * about the VM than about the code.
 */
export function settingsNote(
  jobs: readonly string[],
  readings: Readonly<Record<string, LineRoundTrip>>,
): string | null {
  const values = jobs
    .flatMap((job) => [readings[job]?.before ?? null, readings[job]?.after ?? null])
    .filter((value): value is number => value !== null);
  if (values.length < 2 || Math.max(...values) < SETTING_RATIO * Math.min(...values)) return null;
  const each = jobs
    .filter((job) => readings[job] !== undefined)
    .map((job) => `${job} ${formatLineRoundTrip(readings[job]!).replace('line ', '')}`);
  return `measured in different settings of the machine: cache line ${each.join(', ')}`;
}

/** The verdicts, each with the settings note of its jobs appended to what it measured. */
export function annotateSettings(
  verdicts: readonly TargetVerdict[],
  readings: Readonly<Record<string, LineRoundTrip>>,
): TargetVerdict[] {
  return verdicts.map((verdict) => {
    const note = verdict.jobs === undefined ? null : settingsNote(verdict.jobs, readings);
    return note === null ? verdict : { ...verdict, measured: `${verdict.measured} [${note}]` };
  });
}
