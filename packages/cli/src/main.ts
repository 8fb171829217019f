import { type OptionSpec, parseArgs } from './args.js';
import { cleanSegments, renderClean } from './clean.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, failure, usageError } from './errors.js';
import { formatDuration } from './format.js';
import { COMMAND_HELP, COMMANDS, type Command, MAIN_HELP } from './help.js';
import { type InspectReport, inspectSegment, renderInspect } from './inspect.js';
import { renderList } from './list.js';
import { normalizeSegmentName, SHM_DIR, scanSegments } from './segments.js';
import { packageVersion } from './version.js';

/** Where the CLI writes; process.stdout/stderr by default (tests may pass their own). */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: --watch clears the screen between frames. */
  isTTY: boolean;
}

const defaultOutput: CliOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  get isTTY() {
    return process.stdout.isTTY === true;
  },
};

const HELP: OptionSpec = { name: 'help', short: 'h', kind: 'flag' };
const JSON_OPTION: OptionSpec = { name: 'json', kind: 'flag' };
const PREFIX: OptionSpec = { name: 'prefix', kind: 'value' };

const SPECS: Record<Command, OptionSpec[]> = {
  list: [HELP, JSON_OPTION, PREFIX],
  inspect: [HELP, JSON_OPTION, { name: 'watch', short: 'w', kind: 'optional-number' }],
  clean: [HELP, JSON_OPTION, PREFIX, { name: 'dry-run', short: 'n', kind: 'flag' }],
};

export const DEFAULT_WATCH_MS = 1000;
const MIN_WATCH_MS = 50;
const MAX_WATCH_MS = 24 * 3600 * 1000;

function isCommand(value: string): value is Command {
  return (COMMANDS as readonly string[]).includes(value);
}

function line(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Runs the CLI with `argv` (without "node phoenix") and returns the exit code. */
export async function main(argv: readonly string[], output: CliOutput = defaultOutput): Promise<number> {
  let command: Command | undefined;
  // Known before the arguments are parsed: a usage error of a --json run is reported as JSON too.
  const json = argv.includes('--json');
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      output.err(line(MAIN_HELP));
      return EXIT_USAGE;
    }
    if (first === '-h' || first === '--help') {
      output.out(line(MAIN_HELP));
      return EXIT_OK;
    }
    if (first === '-V' || first === '--version') {
      output.out(line(`phoenix ${packageVersion()}`));
      return EXIT_OK;
    }
    if (first === 'help') {
      const topic = rest[0];
      if (topic === undefined) output.out(line(MAIN_HELP));
      else if (isCommand(topic)) output.out(line(COMMAND_HELP[topic]));
      else throw usageError(`unknown command '${topic}' (commands: ${COMMANDS.join(', ')})`);
      return EXIT_OK;
    }
    if (!isCommand(first)) {
      if (first.startsWith('-')) throw usageError(`unknown option ${first}`);
      throw usageError(`unknown command '${first}' (commands: ${COMMANDS.join(', ')})`);
    }
    command = first;
    const args = parseArgs(rest, SPECS[command], command);
    if (args.options.has('help')) {
      output.out(line(COMMAND_HELP[command]));
      return EXIT_OK;
    }
    switch (command) {
      case 'list':
        return runList(args.positionals, args.options, json, output);
      case 'inspect':
        return await runInspect(args.positionals, args.options, json, output);
      case 'clean':
        return runClean(args.positionals, args.options, json, output);
    }
  } catch (error) {
    if (error instanceof CliError) {
      output.err(line(`phoenix: ${error.message}`));
      if (error.exitCode === EXIT_USAGE) {
        output.err(line(`Run 'phoenix ${command === undefined ? '' : `${command} `}--help' for usage.`));
      }
      if (json) output.out(line(JSON.stringify({ error: error.message })));
      return error.exitCode;
    }
    output.err(line(`phoenix: ${(error as Error)?.stack ?? String(error)}`));
    return EXIT_FAILURE;
  }
}

function segmentName(input: string): string {
  const result = normalizeSegmentName(input);
  if ('problem' in result) throw usageError(result.problem);
  return result.name;
}

function prefixOption(options: Map<string, string | true>): string {
  const prefix = options.get('prefix');
  return typeof prefix === 'string' ? prefix : '';
}

function runList(positionals: string[], options: Map<string, string | true>, json: boolean, output: CliOutput): number {
  if (positionals.length > 0) {
    throw usageError(`list takes no arguments (to look at one segment: phoenix inspect ${positionals[0]})`);
  }
  const prefix = prefixOption(options);
  let entries: ReturnType<typeof scanSegments>;
  try {
    entries = scanSegments(prefix);
  } catch (error) {
    throw failure(`cannot read ${SHM_DIR}: ${(error as Error).message}`);
  }
  if (json) output.out(line(JSON.stringify({ dir: SHM_DIR, segments: entries }, null, 2)));
  else output.out(line(renderList(entries, prefix)));
  return EXIT_OK;
}

function runClean(
  positionals: string[],
  options: Map<string, string | true>,
  json: boolean,
  output: CliOutput,
): number {
  const names = positionals.map(segmentName);
  const prefix = prefixOption(options);
  if (names.length > 0 && prefix !== '') throw usageError('give segment names or --prefix, not both');
  let report: ReturnType<typeof cleanSegments>;
  try {
    report = cleanSegments({ names, prefix, dryRun: options.has('dry-run') });
  } catch (error) {
    throw failure(`cannot read ${SHM_DIR}: ${(error as Error).message}`);
  }
  if (json) output.out(line(JSON.stringify(report, null, 2)));
  else output.out(line(renderClean(report)));
  for (const failed of report.failed) output.err(line(`phoenix: ${failed.error}`));
  return report.failed.length > 0 ? EXIT_FAILURE : EXIT_OK;
}

async function runInspect(
  positionals: string[],
  options: Map<string, string | true>,
  json: boolean,
  output: CliOutput,
): Promise<number> {
  if (positionals.length === 0) throw usageError('inspect needs a segment name (see: phoenix list)');
  if (positionals.length > 1) throw usageError(`inspect takes one segment name, got ${positionals.length}`);
  const name = segmentName(positionals[0]!);
  const watch = options.get('watch');
  if (watch === undefined) {
    const report = inspectSegment(name);
    output.out(line(json ? JSON.stringify(report, null, 2) : renderInspect(report)));
    return EXIT_OK;
  }
  const intervalMs = watch === true ? DEFAULT_WATCH_MS : Number(watch);
  if (!Number.isFinite(intervalMs) || intervalMs < MIN_WATCH_MS || intervalMs > MAX_WATCH_MS) {
    throw usageError(`--watch takes milliseconds from ${MIN_WATCH_MS} to ${MAX_WATCH_MS}, got ${String(watch)}`);
  }
  return watchInspect(name, intervalMs, json, output);
}

/**
 * Redraws the report every `intervalMs` like top (clear screen, draw) until
 * SIGINT/SIGTERM; with `json`, one JSON document per line. The segment is
 * opened afresh for every frame, so a restarted server is picked up; if it
 * disappears the frame says so and watching goes on.
 */
async function watchInspect(name: string, intervalMs: number, json: boolean, output: CliOutput): Promise<number> {
  let frame: InspectReport | CliError = inspectSegment(name); // a missing segment fails at once (exit 1)
  let stopping = false;
  let wake: (() => void) | null = null;
  const stop = () => {
    stopping = true;
    wake?.();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, stop);
  try {
    for (;;) {
      if (json) {
        output.out(
          line(
            JSON.stringify(
              frame instanceof CliError ? { name, at: new Date().toISOString(), error: frame.message } : frame,
            ),
          ),
        );
      } else {
        const title = `phoenix inspect ${name}  every ${formatDuration(intervalMs)}  (Ctrl-C to quit)`;
        const body = frame instanceof CliError ? `${new Date().toISOString()}  ${frame.message}` : renderInspect(frame);
        output.out(output.isTTY ? `\x1b[H\x1b[2J${title}\n\n${line(body)}` : `${title}\n\n${line(body)}\n`);
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      if (stopping) break;
      try {
        frame = inspectSegment(name);
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        frame = error;
      }
    }
  } finally {
    for (const signal of signals) process.off(signal, stop);
  }
  return EXIT_OK;
}
