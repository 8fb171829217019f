// What a scenario is, what it gets to run, and what it reports.
import type { FixtureProcess } from './child.js';
import type { Resources } from './resources.js';

export type MetricValue = number | string | boolean | null | MetricValue[] | { [key: string]: MetricValue };
export type Metrics = Record<string, MetricValue>;

/** One guarantee, checked. */
export interface Check {
  name: string;
  ok: boolean;
  /** What was measured. */
  actual: MetricValue;
  /** What the guarantee demands, in words ("0", "< 1000 ms"). */
  expected: string;
}

export interface ScenarioResult {
  metrics: Metrics;
  checks: Check[];
  /** One line for the summary table. */
  summary: string;
  /** Extra lines printed after the table (sample summaries and the like). */
  details?: string[];
}

export interface ScenarioContext {
  readonly name: string;
  readonly durationMs: number;
  /** This scenario's seed (derived from the run's seed and the scenario name). */
  readonly seed: number;
  /** Seeded randomness for the scenario's own choices. */
  readonly random: () => number;
  /** Hidden self-test: break the scenario's guarantee on purpose. */
  readonly selfTestFail: boolean;
  /** Aborted by the watchdog or by Ctrl-C. */
  readonly signal: AbortSignal;
  /** A private directory for logs and outcome files (removed afterwards). */
  readonly tempDir: string;
  readonly resources: Resources;
  /** A fresh segment name, unlinked afterwards. */
  segmentName(tag: string): string;
  /** Starts a fixture process (killed afterwards), with extra Node/V8 flags if given. */
  spawn(label: string, role: string, config: unknown, execArgv?: string[]): FixtureProcess;
  /** Progress of the main phase (0..1) and a short status. */
  progress(fraction: number, status?: string): void;
  /** Resolves after `ms`, rejects when the scenario is aborted. */
  sleep(ms: number): Promise<void>;
  /** Throws if the scenario has been aborted. */
  checkAborted(): void;
}

export interface Scenario {
  /** "Group.name" */
  name: string;
  description: string;
  defaultDurationMs: number;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}

export function check(name: string, ok: boolean, actual: MetricValue, expected: string): Check {
  return { name, ok, actual, expected };
}

/** actual === 0 */
export function zero(name: string, actual: number): Check {
  return check(name, actual === 0, actual, '0');
}

/** actual <= limit */
export function atMost(name: string, actual: number, limit: number, unit = ''): Check {
  return check(name, actual <= limit, round(actual), `<= ${limit}${unit}`);
}

/** actual >= limit */
export function atLeast(name: string, actual: number, limit: number, unit = ''): Check {
  return check(name, actual >= limit, round(actual), `>= ${limit}${unit}`);
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

export function mergeCounts(target: Record<string, number>, source: Record<string, number> | undefined): void {
  if (source === undefined) return;
  for (const [key, value] of Object.entries(source)) target[key] = (target[key] ?? 0) + value;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}
