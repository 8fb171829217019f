import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('the quick-start demo', () => {
  it('runs end to end: typed calls, replies for both lanes, worker stats, round trips, clean stop, exit 0', () => {
    const run = spawnSync(process.execPath, [main], { encoding: 'utf8', timeout: 90_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('1001 echo   normal -> "hello from the normal lane"');
    expect(run.stdout).toContain('1001 echo   VIP    -> "hello from the VIP lane"');
    expect(run.stdout).toContain('1002 empty  normal -> 0 bytes');
    expect(run.stdout).toContain('1002 empty  VIP    -> 0 bytes');
    expect(run.stdout).toMatch(/round trip, 16 B, \d+ sequential calls: p50 [\d.]+ µs/);
    expect(run.stdout).toMatch(
      /typed quote {2}-> pen: 3000000000000 \(a bigint\), quoted at 2024-01-02T03:04:05.000Z \(a Date\)/,
    );
    expect(run.stdout).toMatch(/typed stats {2}-> served \d+ since .*, items a Map of \d+/);
    expect(run.stdout).toContain(
      'typed error  -> ERR_PHOENIX_HANDLER_FAILED: no pen left (OutOfStock, code E_OUT_OF_STOCK, item pen, restock at a Date)',
    );
    expect(run.stdout).toMatch(/typed round trip, \{ id, name, tags \}, \d+ sequential calls: p50 [\d.]+ µs/);
    expect(run.stdout).toContain('worker stats:');
    expect(run.stdout).toContain('server stopped');
    expect(run.stdout).toContain('demo finished');
    expect(readdirSync('/dev/shm').filter((entry) => entry.startsWith('phoenix_demo_'))).toEqual([]);
  }, 120_000);
});
