import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  annotateSettings,
  formatLineRoundTrip,
  measureLineRoundTrip,
  parseLineProbe,
  prepareLineProbe,
  settingsNote,
  summarizeLineRoundTrips,
} from '../src/bench/line-probe.js';
import { judgeTargets, type TargetVerdict } from '../src/bench/report.js';
import { tasksetPath } from '../src/bench/run-job.js';
import type { TransportResult } from '../src/bench/types.js';

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

describe('verdicts and the settings of the machine', () => {
  const readings = {
    'phoenix-client-adaptive': { before: 374, after: 425 },
    'c-spin': { before: 445, after: 147 },
    'c-eventfd': { before: 151, after: 133 },
    'fork-json': { before: 465, after: 400 },
  };

  it('say nothing of rows measured in one setting', () => {
    expect(settingsNote(['phoenix-client-adaptive', 'fork-json'], readings)).toBeNull();
  });

  it('name the readings of rows measured in different settings', () => {
    expect(settingsNote(['phoenix-client-adaptive', 'c-eventfd'], readings)).toBe(
      'measured in different settings of the machine: cache line phoenix-client-adaptive 374/425 ns, c-eventfd 151/133 ns',
    );
  });

  it('flag one job that saw the setting change during its window', () => {
    expect(settingsNote(['c-spin'], readings)).toContain('c-spin 445/147 ns');
  });

  it('say nothing without two readings', () => {
    expect(settingsNote(['unknown-job'], readings)).toBeNull();
    expect(settingsNote(['fork-json'], { 'fork-json': { before: null, after: 400 } })).toBeNull();
  });

  it('append the note to what a verdict measured, and leave verdicts without jobs alone', () => {
    const verdicts: TargetVerdict[] = [
      { target: 'mixed', status: 'FAIL', measured: '3.42×', jobs: ['phoenix-client-adaptive', 'c-spin'] },
      { target: 'alone', status: 'PASS', measured: '0.14%' },
    ];
    const [mixed, alone] = annotateSettings(verdicts, readings);
    expect(mixed!.status).toBe('FAIL');
    expect(mixed!.measured).toMatch(/^3\.42× \[measured in different settings of the machine: cache line /);
    expect(alone).toEqual(verdicts[1]);
  });

  it('know which jobs each cross-row target compares', () => {
    const row = (id: string): TransportResult =>
      ({
        id,
        label: id,
        sizes: [65536].map((payloadBytes) => ({
          payloadBytes,
          latency: { p50Us: 10, p99Us: 20, meanUs: 12 },
          throughput: { msgsPerSec: 1e5 },
        })),
      }) as unknown as TransportResult;
    const verdicts = judgeTargets([row('phoenix-client-adaptive'), row('c-spin')]);
    const big = verdicts.find((verdict) =>
      verdict.target.startsWith('64 KiB round trip, client→worker adaptive: p50 within'),
    );
    expect(big?.jobs).toEqual(['phoenix-client-adaptive', 'c-spin']);
  });
});
