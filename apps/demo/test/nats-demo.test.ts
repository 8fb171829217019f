import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/nats/main.js', import.meta.url));

describe('pnpm demo:nats', () => {
  it('starts a nats-server, two hosts and a caller, prints which host answered, and cleans up', () => {
    const run = spawnSync(process.execPath, [main], { encoding: 'utf8', timeout: 90_000 });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/nats-server \(pid \d+\) on nats:\/\/127\.0\.0\.1:\d+/);
    expect(run.stdout).toMatch(/call both hosts #1 -> answered by host-[ab] worker \d+: both hosts #1/);
    expect(run.stdout).toMatch(/answered by: host-a \d+, host-b \d+/);
    expect(run.stdout).toMatch(/ERR_PHOENIX_HANDLER_FAILED "host-[ab] refuses on purpose" \(remoteName RangeError\)/);
    expect(run.stdout).toMatch(/answered by: host-b 6\n/);
    expect(run.stdout).toContain('demo:nats finished');
    const pid = /nats-server \(pid (\d+)\)/.exec(run.stdout)![1];
    expect(() => process.kill(Number(pid), 0)).toThrow(); // the nats-server is gone
    expect(readdirSync('/dev/shm').filter((entry) => entry.startsWith('phoenix_demo_nats_'))).toEqual([]);
  }, 120_000);
});
