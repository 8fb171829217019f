/** Exit codes of the phoenix CLI. */
export const EXIT_OK = 0;
/** The command ran and failed (no such segment, not a PhoenixIPC segment, an unlink failed). */
export const EXIT_FAILURE = 1;
/** Invalid usage: unknown command or option, bad segment name, missing argument. */
export const EXIT_USAGE = 2;

/** An error the CLI reports as a one-line message and an exit code (no stack trace). */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(exitCode: number, message: string) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): CliError {
  return new CliError(EXIT_USAGE, message);
}

export function failure(message: string): CliError {
  return new CliError(EXIT_FAILURE, message);
}
