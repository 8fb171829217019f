import { closeFd, createEventFd, drainEventFd } from '@phoenix-ipc/native-shm';
import { PhoenixShmLayout, Priority } from '@phoenix-ipc/shm-layout';
import { afterEach, describe, expect, it } from 'vitest';
import { CallerEngine } from '../src/caller-engine.js';
import { PhoenixError } from '../src/index.js';

const SLOT = 1;
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A caller engine over an in-memory segment whose one worker never answers.
 * Like the supervisor's, it never yields while it spins (yieldCpu false), so
 * every sched_yield it makes is one to a woken peer.
 */
function callerOfASilentWorker() {
  const options = { normalWorkers: 1, vipWorkers: 0, maxClients: 2 };
  const layout = PhoenixShmLayout.format(new SharedArrayBuffer(PhoenixShmLayout.requiredSize(options)), options);
  const doorbell = createEventFd();
  const workerDoorbell = createEventFd();
  let yields = 0;
  const engine = new CallerEngine({
    layout,
    slot: SLOT,
    doorbellFd: doorbell,
    workerDoorbellFds: [workerDoorbell],
    waitStrategy: 'adaptive',
    yieldCpu: false,
    yieldProcessor: () => yields++,
  });
  cleanups.push(() => {
    engine.close(new PhoenixError('ERR_PHOENIX_SERVER_GONE', 'test over'));
    closeFd(doorbell);
    closeFd(workerDoorbell);
  });
  const callOptions = { priority: Priority.Normal, timeoutMs: 20, signal: undefined, onQueueFull: 'wait' } as const;
  const callOnce = () =>
    expect(engine.call(1001, new Uint8Array(16), callOptions)).rejects.toMatchObject({ code: 'ERR_PHOENIX_TIMEOUT' });
  const callSyncOnce = () =>
    expect(() => engine.callSync(1001, new Uint8Array(16), callOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_TIMEOUT' }),
    );
  return {
    callOnce,
    callSyncOnce,
    parkWorker: () => Atomics.store(layout.views.words, layout.channels[0]!.parkedIndex, 1),
    yields: () => yields,
    workerRung: () => drainEventFd(workerDoorbell),
  };
}

describe('a caller that wakes a parked worker', () => {
  it('gives that worker its CPU once, then waits for the reply', async () => {
    const caller = callerOfASilentWorker();
    caller.parkWorker();
    await caller.callOnce();
    expect(caller.workerRung()).toBe(1);
    expect(caller.yields()).toBe(1);
  });

  it('gives it the CPU once from a blocking call as well', () => {
    const caller = callerOfASilentWorker();
    caller.parkWorker();
    caller.callSyncOnce();
    expect(caller.workerRung()).toBe(1);
    expect(caller.yields()).toBe(1);
  });

  it('does not yield when the worker was awake (nobody was woken)', async () => {
    const caller = callerOfASilentWorker();
    await caller.callOnce();
    expect(caller.workerRung()).toBe(0);
    expect(caller.yields()).toBe(0);
  });
});
