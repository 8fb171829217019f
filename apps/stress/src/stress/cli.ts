// The stress CLI: selects scenarios, runs them one after the other, prints a
// progress line per scenario and a summary table, writes the JSON report, and
// exits non-zero when a guarantee broke. Ctrl-C/SIGTERM kill and remove
// everything the running scenario created before exiting.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { type CliOptions, parseArgs, USAGE } from './args.js';
import { formatDuration } from './duration.js';
import { matchesFilter } from './glob.js';
import { outFor, renderTable } from './output.js';
import { freshSeed } from './random.js';
import { processesTagged, sweepStaleSegments } from './resources.js';
import { type Running, runScenario, type ScenarioReport } from './runner.js';
import { SCENARIOS } from './scenarios/index.js';

export const TOOL_VERSION = '0.1.0';

export interface Report {
  tool: 'phoenix-stress';
  version: string;
  ok: boolean;
  seed: number;
  startedAt: string;
  elapsedMs: number;
  interrupted: boolean;
  options: { filter: string | null; durationMs: number | null; selfTestFail: boolean };
  environment: { node: string; platform: string; arch: string; cpus: number; memoryMb: number; loadavg: number[] };
  totals: { scenarios: number; passed: number; failed: number };
  scenarios: ScenarioReport[];
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`phoenix-stress: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const selected = SCENARIOS.filter((scenario) => matchesFilter(scenario.name, options.filter));
  if (options.list) {
    const width = Math.max(...SCENARIOS.map((s) => s.name.length));
    for (const scenario of selected) {
      process.stdout.write(
        `${scenario.name.padEnd(width)}  ${formatDuration(options.durationMs ?? scenario.defaultDurationMs).padStart(5)}  ${scenario.description}\n`,
      );
    }
    if (selected.length === 0)
      process.stderr.write(`phoenix-stress: no scenario matches ${JSON.stringify(options.filter)}\n`);
    return selected.length === 0 ? 2 : 0;
  }
  if (selected.length === 0) {
    process.stderr.write(`phoenix-stress: no scenario matches ${JSON.stringify(options.filter)} (see --list)\n`);
    return 2;
  }

  const jsonToStdout = options.json === '-';
  const out = outFor(jsonToStdout ? process.stderr : process.stdout);
  const swept = sweepStaleSegments();
  if (swept.length > 0)
    out.write(`phoenix-stress: removed ${swept.length} stale segment(s) of dead runs: ${swept.join(', ')}\n`);
  const seed = options.seed ?? freshSeed();
  const startedAt = new Date();
  out.write(
    `phoenix-stress: ${selected.length} scenario(s), seed ${seed} (reproduce with --seed ${seed})${
      options.durationMs === undefined ? '' : `, ${formatDuration(options.durationMs)} each`
    }\n`,
  );

  // Ctrl-C / SIGTERM: kill and remove everything of the running scenario, then leave.
  let running: Running | null = null;
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted !== null) {
      // Second signal: no more waiting.
      running?.resources.killAllSync();
      running?.resources.removeAllSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    interrupted = signal;
    out.write(`\nphoenix-stress: ${signal}, stopping and cleaning up...\n`);
    running?.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // Last resort: nothing of ours may outlive the CLI.
  const lastResort = () => {
    running?.resources.killAllSync();
    running?.resources.removeAllSync();
    for (const pid of processesTagged(`${process.pid}-`, true)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.on('exit', lastResort);

  const reports: ScenarioReport[] = [];
  for (const [index, scenario] of selected.entries()) {
    if (interrupted !== null) break;
    const report = await runScenario(
      scenario,
      {
        durationMs: options.durationMs ?? scenario.defaultDurationMs,
        runSeed: seed,
        selfTestFail: options.selfTestFail,
        out,
        tag: `${process.pid}-${index}`,
        segmentPrefix: `phxs${process.pid}-${index}-`,
      },
      (current) => {
        running = current;
      },
    );
    reports.push(report);
  }

  const failed = reports.filter((r) => !r.ok).length;
  out.write('\n');
  out.write(
    renderTable(
      reports.map((r) => ({
        name: r.name,
        ok: r.ok,
        elapsedMs: r.elapsedMs,
        summary: r.summary,
        failed: r.checks.filter((c) => !c.ok),
        error: r.error,
      })),
      out.columns,
    ),
  );
  for (const r of reports) {
    if (r.details.length === 0) continue;
    out.write(`\n${r.name}:\n${r.details.map((line) => `  ${line}`).join('\n')}\n`);
  }
  const ok = failed === 0 && interrupted === null;
  out.write(
    `\n${ok ? 'PASS' : 'FAIL'}: ${reports.length - failed} of ${reports.length} scenario(s) passed${
      interrupted === null ? '' : ` (interrupted by ${interrupted}, ${selected.length - reports.length} not run)`
    }; seed ${seed}\n`,
  );

  if (options.json !== undefined) {
    const report: Report = {
      tool: 'phoenix-stress',
      version: TOOL_VERSION,
      ok,
      seed,
      startedAt: startedAt.toISOString(),
      elapsedMs: Date.now() - startedAt.getTime(),
      interrupted: interrupted !== null,
      options: {
        filter: options.filter ?? null,
        durationMs: options.durationMs ?? null,
        selfTestFail: options.selfTestFail,
      },
      environment: {
        node: process.version,
        platform: process.platform,
        arch: process.arch,
        cpus: cpus().length,
        memoryMb: Math.round(totalmem() / 2 ** 20),
        loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
      },
      totals: { scenarios: reports.length, passed: reports.length - failed, failed },
      scenarios: reports,
    };
    const text = `${JSON.stringify(report, null, 2)}\n`;
    if (jsonToStdout) process.stdout.write(text);
    else {
      // Run as a package script (pnpm stress), the working directory is apps/stress: a relative path is
      // meant from where the command was typed.
      const base =
        process.env.npm_lifecycle_event !== undefined ? (process.env.INIT_CWD ?? process.cwd()) : process.cwd();
      const path = resolve(base, options.json);
      writeFileSync(path, text);
      out.write(`JSON report written to ${path}\n`);
    }
  }
  process.off('exit', lastResort);
  lastResort();
  if (interrupted !== null) return interrupted === 'SIGINT' ? 130 : 143;
  return ok ? 0 : 1;
}
