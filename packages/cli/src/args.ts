import { usageError } from './errors.js';

/** How an option takes its value. */
export type OptionKind = 'flag' | 'value' | 'optional-number';

export interface OptionSpec {
  name: string;
  kind: OptionKind;
  short?: string;
}

export interface ParsedArgs {
  options: Map<string, string | true>;
  positionals: string[];
}

/**
 * Parses `--name`, `--name value`, `--name=value`, `-x` and `--` (end of
 * options). An 'optional-number' option takes the next argument only if it
 * is a number (`--watch 500` and `--watch /name` both work).
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[], command: string): ParsedArgs {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  const unknown = (arg: string) => usageError(`unknown option ${arg} for '${command}'`);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      spec = specs.find((candidate) => candidate.name === name);
    } else if (arg.length === 2) {
      spec = specs.find((candidate) => candidate.short === arg.slice(1));
    }
    if (spec === undefined) throw unknown(arg);
    if (spec.kind === 'flag') {
      if (inline !== undefined) throw usageError(`option --${spec.name} takes no value`);
      options.set(spec.name, true);
    } else if (spec.kind === 'value') {
      const value = inline ?? argv[++i];
      if (value === undefined) throw usageError(`option --${spec.name} needs a value`);
      options.set(spec.name, value);
    } else {
      const next = argv[i + 1];
      if (inline !== undefined) options.set(spec.name, inline);
      else if (next !== undefined && /^\d+(\.\d+)?$/.test(next)) {
        options.set(spec.name, next);
        i++;
      } else options.set(spec.name, true);
    }
  }
  return { options, positionals };
}
