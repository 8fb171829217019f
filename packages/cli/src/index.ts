/**
 * The `phoenix` command as a function, for scripts and tests that would
 * rather not spawn a process: `await main(['list', '--json'])` resolves to the
 * command's exit code (EXIT_OK, EXIT_FAILURE, EXIT_USAGE). Output goes to
 * process.stdout and process.stderr unless a CliOutput is given. The commands
 * and their output are described in docs/cli.md.
 */
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './errors.js';
export { type CliOutput, main } from './main.js';
