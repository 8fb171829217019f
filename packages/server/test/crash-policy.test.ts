// The supervisor's crash policy, rule by rule: pure functions over plain
// data, so no process, segment or timer is needed here. The behaviour they
// drive on real processes is in worker-crash.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type CrashHistory,
  classifyExit,
  crashReason,
  forgiveCrashes,
  isCrashLooping,
  NO_CRASHES,
  QUIET_PERIOD_MS,
  recordCrash,
  restartDelayMs,
  routeExit,
  shouldRetry,
} from '../src/crash-policy.js';
import { EXIT_CORRUPT_CHANNEL, EXIT_NOT_SUPERVISED, EXIT_SUPERVISOR_GONE } from '../src/worker-exit-codes.js';

const LOOP = { maxCrashes: 3, windowMs: 10_000 };
const BACKOFF = { initialMs: 100, maxMs: 1000, factor: 2 };
const T0 = 1_000_000; // a CLOCK_MONOTONIC reading well past boot

function crashesAt(...times: number[]): CrashHistory {
  return times.reduce((history, now) => recordCrash(history, now, LOOP.windowMs), NO_CRASHES);
}

describe('classifyExit', () => {
  it('calls a death by signal a signal, whatever the code', () => {
    expect(classifyExit(null, 'SIGKILL')).toBe('signal');
  });
  it('calls status 0 clean', () => {
    expect(classifyExit(0, null)).toBe('clean');
  });
  it('recognises the corrupt-channel status', () => {
    expect(classifyExit(EXIT_CORRUPT_CHANNEL, null)).toBe('corrupt-channel');
  });
  it('recognises both statuses of a worker that lost its supervisor', () => {
    expect(classifyExit(EXIT_NOT_SUPERVISED, null)).toBe('supervisor-lost');
    expect(classifyExit(EXIT_SUPERVISOR_GONE, null)).toBe('supervisor-lost');
  });
  it('calls any other status a crash', () => {
    expect(classifyExit(1, null)).toBe('crashed');
  });
});

describe('routeExit', () => {
  it('treats every exit while the server stops as stopped', () => {
    expect(routeExit({ serverState: 'stopping', plannedExit: null, wasReady: true })).toBe('stopped');
    expect(routeExit({ serverState: 'stopped', plannedExit: 'retire', wasReady: true })).toBe('stopped');
  });
  it('treats an exit the supervisor asked for with stop as stopped', () => {
    expect(routeExit({ serverState: 'running', plannedExit: 'stop', wasReady: true })).toBe('stopped');
  });
  it('leaves a death before serving during start to start()', () => {
    expect(routeExit({ serverState: 'starting', plannedExit: null, wasReady: false })).toBe('start-failure');
  });
  it('counts a death during start of a worker that already served as a crash', () => {
    expect(routeExit({ serverState: 'starting', plannedExit: null, wasReady: true })).toBe('crashed');
  });
  it('replaces a retired worker without counting a crash', () => {
    expect(routeExit({ serverState: 'running', plannedExit: 'retire', wasReady: true })).toBe('retired');
  });
  it('counts an unplanned clean exit as a crash', () => {
    expect(routeExit({ serverState: 'running', plannedExit: null, wasReady: true })).toBe('crashed');
  });
});

describe('crashReason', () => {
  it('reports a hang-scan kill as a hang, even with a corrupt channel reported', () => {
    expect(crashReason('signal', true, true)).toBe('hang');
  });
  it('reports a reported corrupt channel as corrupt, however it died', () => {
    expect(crashReason('signal', false, true)).toBe('corrupt');
  });
  it('reports the corrupt-channel status as corrupt', () => {
    expect(crashReason('corrupt-channel', false, false)).toBe('corrupt');
  });
  it('reports anything else as an exit', () => {
    expect(crashReason('supervisor-lost', false, false)).toBe('exit');
    expect(crashReason('clean', false, false)).toBe('exit');
  });
});

describe('crash-loop window', () => {
  it('is not a loop at maxCrashes inside the window', () => {
    expect(isCrashLooping(crashesAt(T0, T0 + 1, T0 + 2), LOOP)).toBe(false);
  });
  it('is a loop at one crash more than maxCrashes inside the window', () => {
    expect(isCrashLooping(crashesAt(T0, T0 + 1, T0 + 2, T0 + 3), LOOP)).toBe(true);
  });
  it('forgets crashes older than the window', () => {
    const history = crashesAt(T0, T0 + 1, T0 + 2, T0 + 2 + LOOP.windowMs + 1);
    expect(history.times).toEqual([T0 + 2 + LOOP.windowMs + 1]);
    expect(isCrashLooping(history, LOOP)).toBe(false);
  });
  it('keeps a crash exactly windowMs old', () => {
    expect(crashesAt(T0, T0 + LOOP.windowMs).times).toEqual([T0, T0 + LOOP.windowMs]);
  });
  it('does not change the history it is given', () => {
    const before = crashesAt(T0);
    recordCrash(before, T0 + 1, LOOP.windowMs);
    expect(before.times).toEqual([T0]);
  });
  it('is cleared by forgiveCrashes, which keeps the time of the last crash', () => {
    const forgiven = forgiveCrashes(crashesAt(T0, T0 + 1, T0 + 2, T0 + 3));
    expect(forgiven).toEqual({ times: [], consecutive: 0, lastAt: T0 + 3 });
  });
});

describe('backoff', () => {
  it('waits initialMs before the first replacement', () => {
    expect(restartDelayMs(1, BACKOFF)).toBe(100);
  });
  it('multiplies the wait by factor for each crash in a row', () => {
    expect(restartDelayMs(3, BACKOFF)).toBe(400);
  });
  it('never waits more than maxMs', () => {
    expect(restartDelayMs(20, BACKOFF)).toBe(1000);
  });
  it('counts crashes in a row', () => {
    expect(crashesAt(T0, T0 + 1, T0 + 2).consecutive).toBe(3);
  });
  it('starts counting again after a quiet period', () => {
    expect(crashesAt(T0, T0 + 1, T0 + 1 + QUIET_PERIOD_MS + 1).consecutive).toBe(1);
  });
});

describe('shouldRetry', () => {
  it('never retries under the fail policy', () => {
    expect(shouldRetry('fail', 1, true)).toBe(false);
  });
  it('retries while the attempt that died is within the retries', () => {
    expect(shouldRetry({ retries: 2 }, 2, true)).toBe(true);
  });
  it('stops retrying after the last retry', () => {
    expect(shouldRetry({ retries: 2 }, 3, true)).toBe(false);
  });
  it('never retries during shutdown', () => {
    expect(shouldRetry({ retries: 2 }, 1, false)).toBe(false);
  });
});
