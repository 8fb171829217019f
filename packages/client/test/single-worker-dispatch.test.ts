import { PhoenixError, WorkerState } from '@phoenix-ipc/shm-layout';
import { describe, expect, it } from 'vitest';
import { callerAndHandPlayedWorker } from './hand-played-worker.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

// A group of one worker takes a shorter way than the least-loaded rule
// (CallerEngine's #pickWorker) when the worker runs; the other cases below
// are the ones it must leave to the rule: a channel being reset, a worker
// restarting, a worker down for good.
describe('dispatch to a group of one worker', () => {
  it.each([
    ['running', WorkerState.Running],
    ['restarting (it serves the call once it is up)', WorkerState.Restarting],
  ])('writes the call to the worker at once while it is %s', (_what, state) => {
    const caller = callerAndHandPlayedWorker();
    caller.channel.state = state;
    const call = caller.call();
    expect(caller.takeRequests()).toHaveLength(1);
    call.catch(() => {});
  });

  it('holds the call while the worker’s channel is being reset, and writes it once the channel is ready', async () => {
    const caller = callerAndHandPlayedWorker();
    caller.channel.state = WorkerState.Running;
    caller.engine.resetChannel(0, 'the test resets the channel');
    const call = caller.call();
    await turn();
    expect(caller.takeRequests()).toHaveLength(0);
    caller.engine.channelReady(0);
    await turn();
    expect(caller.takeRequests()).toHaveLength(1);
    call.catch(() => {});
  });

  it('fails the call with ERR_PHOENIX_UNAVAILABLE when the worker is down for good', async () => {
    const caller = callerAndHandPlayedWorker();
    caller.channel.state = WorkerState.Down;
    const error = await caller.call().catch((thrown: unknown) => thrown);
    expect(PhoenixError.isInstance(error) && error.code).toBe('ERR_PHOENIX_UNAVAILABLE');
    expect(caller.takeRequests()).toHaveLength(0);
  });
});
