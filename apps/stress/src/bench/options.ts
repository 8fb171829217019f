import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
/** Command line of `pnpm bench` / `node apps/stress/dist/bench-main.js`. */
export interface BenchOptions {
  quick: boolean;
  million: boolean;
  json: string | null;
  workers: number;
  callers: number;
  filters: string[];
  help: boolean;
}

export const USAGE = `usage: node apps/stress/dist/bench-main.js [options]

  --quick             CI smoke: a few hundred calls per peer, every reply verified, targets not judged
  --million           also run the one-million-call PhoenixIPC run in --quick (always part of the full run)
  --json <file>       write every result (and the machine facts) as JSON
  --workers N         PhoenixIPC throughput scaling from 1 to N workers (default 2)
  --callers M         ... with M client processes (default 1)
  --filter <text>     run only benchmarks whose id or name contains <text> (repeatable, case-insensitive);
                      ids: phoenix-client-{adaptive,spin,block}, phoenix-supervisor-{...}, fork-json,
                      fork-advanced, unix-socket, worker-threads, piscina, workerpool, js-sab-spin,
                      js-sab-wait, c-spin, c-eventfd, nats-echo, nats-phoenix, nats-pair (the three:
                      --filter nats; they need nats-server), million, live-heap (and live-heap-pair),
                      strategy-pair, one-cpu (needs taskset), latency-pair, scaling, service
  --help              this text

environment:
  PHOENIX_BENCH_RUNNER_ARGS   extra node flags for each runner, the client process (e.g. "--trace-gc")
  PHOENIX_BENCH_REPLY_BATCH   replyBatch of the PhoenixIPC servers (default: the server's default, 1)
`;

function positiveInteger(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1)
    throw new Error(`${flag} needs a positive integer, got ${value ?? 'nothing'}`);
  return n;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    quick: false,
    million: false,
    json: null,
    workers: 2,
    callers: 1,
    filters: [],
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // `pnpm bench -- --quick` hands the script a literal `--` first.
    if (arg === '--') continue;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      // `--json --quick` would otherwise write the results to a file named --quick, after a full run.
      if (inline === undefined && next.startsWith('--'))
        throw new Error(`${flag} needs a value, got the option ${next}`);
      return next;
    };
    switch (flag) {
      case '--quick':
        options.quick = true;
        break;
      case '--million':
        options.million = true;
        break;
      case '--json':
        options.json = value();
        break;
      case '--workers':
        options.workers = positiveInteger(flag, value());
        break;
      case '--callers':
        options.callers = positiveInteger(flag, value());
        break;
      case '--filter':
        options.filters.push(value().toLowerCase());
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      default:
        throw new Error(`unknown argument ${arg}\n\n${USAGE}`);
    }
  }
  return options;
}

/**
 * Why the --json file could not be written, or null: checked before the run,
 * so that a run of minutes does not end in an ENOENT with its results lost.
 */
export function jsonFileProblem(path: string): string | null {
  const target = resolve(path);
  try {
    if (existsSync(target)) {
      if (statSync(target).isDirectory()) return `--json ${path}: is a directory`;
      accessSync(target, constants.W_OK);
    } else accessSync(dirname(target), constants.W_OK);
    return null;
  } catch (error) {
    return `--json ${path}: cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
}

/** Whether a benchmark (by id and name) is selected by the --filter options. */
export function selected(options: BenchOptions, id: string, label: string): boolean {
  if (options.filters.length === 0) return true;
  const text = `${id} ${label}`.toLowerCase();
  return options.filters.some((filter) => text.includes(filter));
}
