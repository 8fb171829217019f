import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatLineRoundTrip,
  measureLineRoundTrip,
  parseLineProbe,
  prepareLineProbe,
  summarizeLineRoundTrips,
} from '../src/bench/line-probe.js';
import { tasksetPath } from '../src/bench/run-job.js';

const source = fileURLToPath(new URL('../bench-native/line-probe.c', import.meta.url));

describe('the cache-line probe', () => {
  let workDir = '';
  let probe: { binary: string | null; reason: string };

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'phoenix-line-probe-'));
    probe = await prepareLineProbe(source, workDir);
  }, 60_000);

  afterAll(() => {
    if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
  });

  it('measures a round trip between two CPUs, or says why it cannot on one', () => {
    if (availableParallelism() < 2) {
      expect(probe.binary).toBeNull();
      expect(probe.reason).toContain('one CPU');
      return;
    }
    expect(probe.binary, probe.reason).not.toBeNull();
    const ns = measureLineRoundTrip(probe.binary);
    expect(ns).toBeGreaterThan(0);
    expect(ns).toBeLessThan(1_000_000);
  });

  it('refuses, with exit code 2 and no figure, a process that may use one CPU', () => {
    const taskset = tasksetPath();
    if (probe.binary === null || taskset === null) {
      // Without the binary or taskset the refusal is the compile step's: nothing would run.
      expect(measureLineRoundTrip(null)).toBeNull();
      return;
    }
    const pinned = spawnSync(taskset, ['-c', '0', probe.binary, '5'], { encoding: 'utf8' });
    expect(pinned.status).toBe(2);
    expect(pinned.stdout).toBe('');
    expect(pinned.stderr).toContain('needs two CPUs');
  });

  it('prints one JSON line naming the two CPUs it used', () => {
    if (probe.binary === null) {
      expect(availableParallelism()).toBeLessThan(2);
      return;
    }
    const output = JSON.parse(execFileSync(probe.binary, ['5'], { encoding: 'utf8' })) as {
      cpus: number[];
      batches: number;
      roundTripNs: number;
    };
    expect(output.cpus).toHaveLength(2);
    expect(output.cpus[0]).not.toBe(output.cpus[1]);
    expect(output.batches).toBeGreaterThan(0);
  });
});

describe('reading the probe', () => {
  it('takes the median round trip from its line', () => {
    expect(parseLineProbe('{"cpus":[0,1],"batches":120,"roundTripNs":451.2}\n')).toBe(451.2);
  });

  it('gives no figure for output that is not a positive round trip', () => {
    for (const output of [
      '',
      'garbage',
      '{"cpus":[0,1]}',
      '{"roundTripNs":0}',
      '{"roundTripNs":-3}',
      '{"roundTripNs":"450"}',
    ])
      expect(parseLineProbe(output), output).toBeNull();
  });

  it("writes a job's readings as before/after, with ? for a missing one and nothing without any", () => {
    expect(formatLineRoundTrip({ before: 451.2, after: 133.7 })).toBe('line 451/134 ns');
    expect(formatLineRoundTrip({ before: null, after: 600 })).toBe('line ?/600 ns');
    expect(formatLineRoundTrip({ before: null, after: null })).toBe('');
  });

  it("sums up a run's readings as min, median and max", () => {
    const spread = summarizeLineRoundTrips([
      { before: 140, after: 600 },
      { before: 450, after: null },
      { before: 610, after: 133 },
    ]);
    expect(spread).toBe('min 133, median 450, max 610 ns over 5 readings');
    expect(summarizeLineRoundTrips([{ before: null, after: null }])).toBeNull();
  });
});
