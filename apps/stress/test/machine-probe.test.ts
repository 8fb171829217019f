import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  annotateSettings,
  formatJobSetting,
  parseMachineProbe,
  prepareMachineProbe,
  probeMachine,
  settingsNote,
  summarizeSettings,
} from '../src/bench/machine-probe.js';
import { judgeTargets, type TargetVerdict } from '../src/bench/report.js';
import { tasksetPath } from '../src/bench/run-job.js';
import type { TransportResult } from '../src/bench/types.js';

const source = fileURLToPath(new URL('../bench-native/machine-probe.c', import.meta.url));

describe('the machine probe', () => {
  let workDir = '';
  let probe: { binary: string | null; reason: string };

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'phoenix-machine-probe-'));
    probe = await prepareMachineProbe(source, workDir);
  }, 60_000);

  afterAll(() => {
    if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
  });

  it('reads the line between two CPUs and their loop time, or says why it cannot on one', () => {
    if (availableParallelism() < 2) {
      expect(probe.binary).toBeNull();
      expect(probe.reason).toContain('one CPU');
      return;
    }
    expect(probe.binary, probe.reason).not.toBeNull();
    const reading = probeMachine(probe.binary);
    expect(reading?.lineNs).toBeGreaterThan(0);
    expect(reading?.lineNs).toBeLessThan(1_000_000);
    expect(reading?.loopUs).toBeGreaterThan(0);
  });

  it('refuses, with exit code 2 and no figure, a process that may use one CPU', () => {
    const taskset = tasksetPath();
    if (probe.binary === null || taskset === null) {
      // Without the binary or taskset the refusal is the compile step's: nothing would run.
      expect(probeMachine(null)).toBeNull();
      return;
    }
    const pinned = spawnSync(taskset, ['-c', '0', probe.binary, '5'], { encoding: 'utf8' });
    expect(pinned.status).toBe(2);
    expect(pinned.stdout).toBe('');
    expect(pinned.stderr).toContain('needs two CPUs');
  });

  it('prints one JSON line naming the two CPUs it used and a loop time for each', () => {
    if (probe.binary === null) {
      expect(availableParallelism()).toBeLessThan(2);
      return;
    }
    const output = JSON.parse(execFileSync(probe.binary, ['5'], { encoding: 'utf8' })) as {
      cpus: number[];
      batches: number;
      roundTripNs: number;
      loopNs: number[];
    };
    expect(output.cpus).toHaveLength(2);
    expect(output.cpus[0]).not.toBe(output.cpus[1]);
    expect(output.batches).toBeGreaterThan(0);
    expect(output.loopNs).toHaveLength(2);
  });
});

describe('reading the probe', () => {
  it('takes the median round trip, and the slower CPU loop in µs', () => {
    expect(parseMachineProbe('{"cpus":[0,1],"batches":120,"roundTripNs":451.2,"loopNs":[952123,1380456]}\n')).toEqual({
      lineNs: 451.2,
      loopUs: 1380.456,
    });
  });

  it('gives no figure for output that is not a reading', () => {
    for (const output of [
      '',
      'garbage',
      '{"cpus":[0,1]}',
      '{"roundTripNs":0,"loopNs":[1,1]}',
      '{"roundTripNs":-3,"loopNs":[1,1]}',
      '{"roundTripNs":"450","loopNs":[1,1]}',
      '{"roundTripNs":450}',
      '{"roundTripNs":450,"loopNs":[1]}',
      '{"roundTripNs":450,"loopNs":[1,"2"]}',
    ])
      expect(parseMachineProbe(output), output).toBeNull();
  });

  it("writes a job's readings as before/after, with ? for a missing one and nothing without any", () => {
    const fast = { lineNs: 101.4, loopUs: 952.2 };
    const slow = { lineNs: 451.2, loopUs: 1380.4 };
    expect(formatJobSetting({ before: slow, after: fast })).toBe('line 451/101 ns, loop 1380/952 µs');
    expect(formatJobSetting({ before: null, after: fast })).toBe('line ?/101 ns, loop ?/952 µs');
    expect(formatJobSetting({ before: null, after: null })).toBe('');
  });

  it("sums up a run's readings as min, median and max of each", () => {
    const spread = summarizeSettings([
      { before: { lineNs: 140, loopUs: 950 }, after: { lineNs: 600, loopUs: 960 } },
      { before: { lineNs: 450, loopUs: 1400 }, after: null },
    ]);
    expect(spread).toBe('line min 140, median 450, max 600 ns; loop min 950, median 960, max 1400 µs; 3 readings');
    expect(summarizeSettings([{ before: null, after: null }])).toBeNull();
  });
});

describe('verdicts and the settings of the machine', () => {
  const at = (lineNs: number, loopUs = 950) => ({ lineNs, loopUs });
  const readings = {
    'phoenix-client-adaptive': { before: at(374), after: at(425) },
    'c-spin': { before: at(445), after: at(147) },
    'c-eventfd': { before: at(151), after: at(133) },
    'fork-json': { before: at(465), after: at(400) },
    'unix-socket': { before: at(430), after: at(430, 1380) },
  };

  it('say nothing of rows measured in one setting', () => {
    expect(settingsNote(['phoenix-client-adaptive', 'fork-json'], readings)).toBeNull();
  });

  it('name the readings of rows measured in different settings', () => {
    expect(settingsNote(['phoenix-client-adaptive', 'c-eventfd'], readings)).toBe(
      'measured in different settings of the machine: phoenix-client-adaptive line 374/425 ns, loop 950/950 µs; c-eventfd line 151/133 ns, loop 950/950 µs',
    );
  });

  it('tell a CPU slowed by a shared core from one setting, with the line unchanged', () => {
    expect(settingsNote(['fork-json', 'unix-socket'], readings)).toContain(
      'unix-socket line 430/430 ns, loop 950/1380 µs',
    );
  });

  it('flag one job that saw the setting change during its window', () => {
    expect(settingsNote(['c-spin'], readings)).toContain('c-spin line 445/147 ns');
  });

  it('say nothing without two readings', () => {
    expect(settingsNote(['unknown-job'], readings)).toBeNull();
    expect(settingsNote(['fork-json'], { 'fork-json': { before: null, after: at(400) } })).toBeNull();
  });

  it('append the note to what a verdict measured, and leave verdicts without jobs alone', () => {
    const verdicts: TargetVerdict[] = [
      { target: 'mixed', status: 'FAIL', measured: '3.42×', jobs: ['phoenix-client-adaptive', 'c-spin'] },
      { target: 'alone', status: 'PASS', measured: '0.14%' },
    ];
    const [mixed, alone] = annotateSettings(verdicts, readings);
    expect(mixed!.status).toBe('FAIL');
    expect(mixed!.measured).toMatch(
      /^3\.42× \[measured in different settings of the machine: phoenix-client-adaptive line /,
    );
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
