import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { type CliOutput, EXIT_OK, EXIT_USAGE, main } from '../src/index.js';

// The package's library face: the phoenix command as a function, from ESM and from CommonJS.
function capture(): CliOutput & { stdout: string; stderr: string } {
  const output = {
    stdout: '',
    stderr: '',
    isTTY: false,
    out(text: string) {
      output.stdout += text;
    },
    err(text: string) {
      output.stderr += text;
    },
  };
  return output;
}

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

describe('main() from a script', () => {
  it('runs a command and resolves to its exit code, writing to the output it is given', async () => {
    const output = capture();
    expect(await main(['--version'], output)).toBe(EXIT_OK);
    expect(output.stdout).toBe(`phoenix ${version}\n`);
  });

  it('resolves a usage error to EXIT_USAGE with the message on the error stream', async () => {
    const output = capture();
    expect(await main(['no-such-command'], output)).toBe(EXIT_USAGE);
    expect(output.stderr).toMatch(/no-such-command/);
  });

  it('is the same function in the built ESM and CommonJS entries', async () => {
    const esm = (await import('@phoenix-ipc/cli')) as typeof import('../src/index.js');
    const cjs = createRequire(import.meta.url)('@phoenix-ipc/cli') as typeof import('../src/index.js');
    for (const entry of [esm, cjs]) {
      expect(Object.keys(entry).sort()).toEqual(['EXIT_FAILURE', 'EXIT_OK', 'EXIT_USAGE', 'main']);
      const output = capture();
      expect(await entry.main(['--version'], output)).toBe(EXIT_OK);
      expect(output.stdout).toBe(`phoenix ${version}\n`);
    }
  });
});
