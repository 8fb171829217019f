import { describe, expect, it } from 'vitest';
import { callerAndHandPlayedWorker } from './hand-played-worker.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('a worker parked while its caller had not read its replies', () => {
  it('is rung once the caller reads some while calls to it are still in flight', async () => {
    const caller = callerAndHandPlayedWorker();
    const first = caller.call();
    const second = caller.call();
    await turn();
    const [seqFirst] = caller.takeRequests();
    caller.answerThenPark(seqFirst!);
    await first;
    expect(caller.workerRung()).toBe(1);
    second.catch(() => {});
  });

  it('is left asleep when the replies read were the last ones it owed', async () => {
    const caller = callerAndHandPlayedWorker();
    const only = caller.call();
    await turn();
    const [seqId] = caller.takeRequests();
    caller.answerThenPark(seqId!);
    await only;
    expect(caller.workerRung()).toBe(0);
  });
});
