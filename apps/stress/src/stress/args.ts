import { parseDuration } from './duration.js';

export interface CliOptions {
  filter: string | undefined;
  durationMs: number | undefined;
  /** undefined: no JSON; '-': stdout; else a file path. */
  json: string | undefined;
  seed: number | undefined;
  list: boolean;
  help: boolean;
  selfTestFail: boolean;
}

export const USAGE = `Usage: phoenix-stress [options]
       pnpm stress [--] [options]

Runs the PhoenixIPC stress scenarios and checks their guarantees.

Options:
  --filter <glob>      run only scenarios whose name matches (e.g. 'WorkerCrashSimulation.*');
                       * and ? wildcards, comma-separated alternatives, a bare group name means Group.*
  --duration <time>    duration of each scenario's main phase: 500ms, 30s, 2m (default: per scenario)
  --json [file]        write a machine-readable report to file (or to stdout without a file,
                       the human output then goes to stderr)
  --seed <n>           seed of the random choices (decimal or 0x hex; default: a fresh one, printed)
  --list               list the scenarios (those matching --filter) and exit
  --help               this text

Exit status: 0 when every guarantee held, 1 when one broke, 2 on bad usage, 130/143 when interrupted.
`;

function parseSeed(text: string): number {
  const value = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Error(`bad seed ${JSON.stringify(text)}: an integer from 0 to 4294967295`);
  }
  return value >>> 0;
}

/** Parses the command line; throws an Error with a readable message on bad usage. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = {
    filter: undefined,
    durationMs: undefined,
    json: undefined,
    seed: undefined,
    list: false,
    help: false,
    selfTestFail: false,
  };
  const args = [...argv];
  const value = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const next = args.shift();
    if (next === undefined || (next.startsWith('-') && next !== '-')) throw new Error(`${flag} needs a value`);
    return next;
  };
  while (args.length > 0) {
    const arg = args.shift()!;
    if (arg === '--') continue; // pnpm passes it through
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    switch (flag) {
      case '--filter':
      case '-f': {
        const pattern = value(flag, inline);
        options.filter = options.filter === undefined ? pattern : `${options.filter},${pattern}`;
        break;
      }
      case '--duration':
      case '-d':
        options.durationMs = parseDuration(value(flag, inline));
        break;
      case '--json':
        if (inline !== undefined) options.json = inline;
        else if (args[0] !== undefined && (!args[0].startsWith('-') || args[0] === '-')) options.json = args.shift()!;
        else options.json = '-';
        break;
      case '--seed':
        options.seed = parseSeed(value(flag, inline));
        break;
      case '--list':
      case '-l':
        options.list = true;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      case '--self-test-fail':
        options.selfTestFail = true;
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return options;
}
