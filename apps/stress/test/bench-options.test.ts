import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonFileProblem, parseOptions } from '../src/bench/options.js';

const scratch = mkdtempSync(join(tmpdir(), 'phoenix-bench-options-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('phoenix-bench options', () => {
  it('reads --json, --filter, --workers and --callers, as separate words or with =', () => {
    expect(parseOptions(['--json', 'out.json', '--filter', 'Fork', '--workers=3', '--callers', '2'])).toMatchObject({
      json: 'out.json',
      filters: ['fork'],
      workers: 3,
      callers: 2,
    });
  });

  it('refuses an option where a value belongs, rather than writing the results to a file named --quick', () => {
    expect(() => parseOptions(['--json', '--quick'])).toThrow('--json needs a value, got the option --quick');
    expect(() => parseOptions(['--filter', '--json', 'x'])).toThrow('--filter needs a value');
    expect(() => parseOptions(['--json'])).toThrow('--json needs a value');
  });

  it('finds a --json file that cannot be written before the run, not after it', () => {
    expect(jsonFileProblem(join(scratch, 'new.json'))).toBeNull();
    const existing = join(scratch, 'old.json');
    writeFileSync(existing, '{}');
    expect(jsonFileProblem(existing)).toBeNull();
    expect(jsonFileProblem(join(scratch, 'missing-dir', 'x.json'))).toMatch(/cannot be written \(ENOENT\)/);
    expect(jsonFileProblem(scratch)).toMatch(/is a directory/);
  });

  it('exits 2 when --filter matches no benchmark, and says so', () => {
    const main = fileURLToPath(new URL('../dist/bench-main.js', import.meta.url));
    const run = spawnSync(process.execPath, [main, '--quick', '--filter', 'no-such-benchmark'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('no benchmark matches --filter no-such-benchmark');
  });
});
