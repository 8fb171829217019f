import { mulberry32 } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/stress/args.js';
import { formatDuration, parseDuration } from '../src/stress/duration.js';
import { matchesFilter } from '../src/stress/glob.js';
import { deriveSeed } from '../src/stress/random.js';
import { fillMessage, readMessage, sizeFor } from '../src/stress/ring-traffic.js';

describe('durations', () => {
  it('parses ms, s, m, h and bare seconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('3')).toBe(3000);
    for (const bad of ['', 'soon', '-1s', '0s', '1d']) expect(() => parseDuration(bad), bad).toThrow();
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(125_000)).toBe('2m05s');
  });
});

describe('filters', () => {
  it('matches whole names with * and ?, alternatives, and bare group names', () => {
    expect(matchesFilter('WorkerCrashSimulation.randomKills', 'WorkerCrashSimulation.*')).toBe(true);
    expect(matchesFilter('WorkerCrashSimulation.randomKills', 'Worker*')).toBe(true);
    expect(matchesFilter('WorkerCrashSimulation.randomKills', 'WorkerCrash')).toBe(false);
    expect(matchesFilter('WorkerCrashSimulation.randomKills', 'WorkerCrashSimulation')).toBe(true);
    expect(matchesFilter('Hang.busyHandlers', 'Hang.busyHandler?')).toBe(true);
    expect(matchesFilter('Hang.busyHandlers', 'Hang.busy?')).toBe(false);
    expect(matchesFilter('Hang.busyHandlers', 'Stability.*, Hang.*')).toBe(true);
    expect(matchesFilter('Hang.busyHandlers', 'Hang.busyHandlers.x')).toBe(false);
    expect(matchesFilter('A.b', undefined)).toBe(true);
    // Regular-expression characters are literal.
    expect(matchesFilter('Hang.busyHandlers', 'Hang+busyHandlers')).toBe(false);
  });
});

describe('arguments', () => {
  it('reads every option, skips a bare --, and rejects what it does not know', () => {
    expect(
      parseArgs(['--', '--filter', 'A.*', '--duration', '2s', '--seed', '0x10', '--json', 'r.json']),
    ).toMatchObject({
      filter: 'A.*',
      durationMs: 2000,
      seed: 16,
      json: 'r.json',
    });
    expect(parseArgs(['--json']).json).toBe('-');
    expect(parseArgs(['--json', '--list'])).toMatchObject({ json: '-', list: true });
    expect(parseArgs(['--filter=A.*', '-f', 'B.*']).filter).toBe('A.*,B.*');
    expect(parseArgs(['--self-test-fail']).selfTestFail).toBe(true);
    expect(() => parseArgs(['--duration'])).toThrow(/needs a value/);
    expect(() => parseArgs(['--what'])).toThrow(/unknown argument/);
    expect(() => parseArgs(['--seed', '1.5'])).toThrow(/bad seed/);
  });
});

describe('randomness and ring messages', () => {
  it('is reproducible from the seed', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    expect(deriveSeed(1, 'x')).toBe(deriveSeed(1, 'x'));
    expect(deriveSeed(1, 'x')).not.toBe(deriveSeed(1, 'y'));
  });

  it('checks every ring message on its own: sequence number, checksum, size', () => {
    for (let seq = 0; seq < 2000; seq++) {
      const size = sizeFor(99, seq, 1024);
      expect(size).toBeGreaterThanOrEqual(8);
      expect(size).toBeLessThanOrEqual(1024);
      const view = new Uint8Array(size);
      fillMessage(view, seq);
      expect(readMessage(view)).toBe(seq);
      view[size - 1] = view[size - 1]! ^ 1; // a torn byte
      expect(readMessage(view)).toBe(-1);
    }
  });
});
