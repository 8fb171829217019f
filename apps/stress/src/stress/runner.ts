// Runs one scenario: its context, a watchdog, and the cleanup that always follows.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixtureProcess } from './child.js';
import { formatDuration } from './duration.js';
import { type Out, ProgressLine } from './output.js';
import { deriveSeed, mulberry32 } from './random.js';
import { type Leftovers, Resources } from './resources.js';
import type { Check, Metrics, Scenario, ScenarioContext } from './scenario.js';

export interface ScenarioReport {
  name: string;
  group: string;
  description: string;
  ok: boolean;
  seed: number;
  durationMs: number;
  elapsedMs: number;
  summary: string;
  metrics: Metrics;
  checks: Check[];
  details: string[];
  error: string | null;
  leftovers: Leftovers;
}

export interface RunOptions {
  durationMs: number;
  runSeed: number;
  selfTestFail: boolean;
  out: Out;
  /** Tag of this scenario's processes (RUN_ENV). */
  tag: string;
  /** Short, unique prefix of this scenario's segment names. */
  segmentPrefix: string;
}

/** The running scenario, for the signal handlers. */
export interface Running {
  abort(reason: Error): void;
  resources: Resources;
}

/** Duration + a generous margin (setup, drain, teardown); PHOENIX_STRESS_WATCHDOG_MS overrides it (tests). */
export function watchdogMs(durationMs: number): number {
  const override = Number(process.env.PHOENIX_STRESS_WATCHDOG_MS);
  if (Number.isFinite(override) && override > 0) return override;
  return durationMs + Math.max(45_000, durationMs);
}

class Aborted extends Error {}

export async function runScenario(
  scenario: Scenario,
  options: RunOptions,
  register: (running: Running | null) => void,
): Promise<ScenarioReport> {
  const seed = deriveSeed(options.runSeed, scenario.name);
  const resources = new Resources(options.tag);
  const tempDir = mkdtempSync(join(tmpdir(), 'phoenix-stress-'));
  resources.paths.add(tempDir);
  const controller = new AbortController();
  const progress = new ProgressLine(options.out, scenario.name, options.durationMs);
  let segments = 0;
  const context: ScenarioContext = {
    name: scenario.name,
    durationMs: options.durationMs,
    seed,
    random: mulberry32(seed),
    selfTestFail: options.selfTestFail,
    signal: controller.signal,
    tempDir,
    resources,
    segmentName(tag: string): string {
      const name = `/${options.segmentPrefix}${tag}${++segments}`;
      resources.segments.add(name);
      return name;
    },
    spawn(label: string, role: string, config: unknown, execArgv: string[] = []): FixtureProcess {
      context.checkAborted();
      const child = new FixtureProcess(label, role, config, options.tag, execArgv);
      resources.children.add(child);
      return child;
    },
    progress: (fraction, status) => progress.update(fraction, status),
    sleep(ms: number): Promise<void> {
      return new Promise((resolve, reject) => {
        if (controller.signal.aborted) {
          reject(new Aborted('aborted'));
          return;
        }
        const onAbort = () => {
          clearTimeout(timer);
          reject(new Aborted('aborted'));
        };
        const timer = setTimeout(() => {
          controller.signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        controller.signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    checkAborted(): void {
      if (controller.signal.aborted) throw new Aborted('aborted');
    },
  };

  const started = Date.now();
  const abortState: { reason: Error | null } = { reason: null };
  const aborted = new Promise<never>((_resolve, reject) => {
    controller.signal.addEventListener('abort', () => reject(abortState.reason ?? new Error('aborted')), {
      once: true,
    });
  });
  aborted.catch(() => {});
  const abort = (reason: Error) => {
    if (controller.signal.aborted) return;
    abortState.reason = reason;
    controller.abort(reason);
    // Whatever the scenario awaits from its processes fails now.
    resources.killAllSync();
  };
  register({ abort, resources });
  const limit = watchdogMs(options.durationMs);
  const watchdog = setTimeout(
    () =>
      abort(new Error(`watchdog: no result after ${formatDuration(limit)} (duration + margin); everything was killed`)),
    limit,
  );

  let error: string | null = null;
  let result: Awaited<ReturnType<Scenario['run']>> | null = null;
  const running = scenario.run(context);
  running.catch(() => {});
  try {
    result = await Promise.race([running, aborted]);
  } catch (caught) {
    error = abortState.reason?.message ?? (caught instanceof Error ? caught.message : String(caught));
    if (abortState.reason !== null) {
      // Give the scenario a moment to unwind before its resources go.
      await Promise.race([running.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))]);
    }
  } finally {
    clearTimeout(watchdog);
  }
  const leftovers = await resources.cleanup();
  register(null);
  const elapsedMs = Date.now() - started;
  const checks = [...(result?.checks ?? [])];
  checks.push({
    name: 'nothing left behind (processes, segments)',
    ok: leftovers.processes.length === 0 && leftovers.segments.length === 0,
    actual: { processes: leftovers.processes, segments: leftovers.segments },
    expected: 'none',
  });
  const ok = error === null && checks.every((c) => c.ok);
  const summary = result?.summary ?? `error: ${error}`;
  const details = [...(result?.details ?? [])];
  if (!ok) {
    // What the processes said on stderr helps to tell a product failure from a broken environment.
    for (const child of resources.children) {
      if (child.stderr.trim() !== '')
        details.push(`${child.label} (pid ${child.pid}) stderr: ${child.stderrTail(600)}`);
    }
  }
  progress.finish(ok, elapsedMs, summary);
  const [group] = scenario.name.split('.');
  return {
    name: scenario.name,
    group: group!,
    description: scenario.description,
    ok,
    seed,
    durationMs: options.durationMs,
    elapsedMs,
    summary,
    metrics: result?.metrics ?? {},
    checks,
    details,
    error,
    leftovers,
  };
}
