import { closeFd, createEventFd, signalEventFd } from '@phoenix-ipc/native-shm';
import { MsgStatus } from '@phoenix-ipc/shm-layout';
import { afterEach, describe, expect, it } from 'vitest';
import { CallerPump, type PumpHost, TURNS_IN_PLACE } from '../src/caller-pump.js';
import type { Reply } from '../src/reply.js';
import type { Waiter } from '../src/waiter.js';

const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A waiter whose spin never finds work and whose park always sleeps (the doorbell wakes the pump). */
function sleepyWaiter(): Waiter {
  let parked = false;
  return {
    neverParks: false,
    spin: () => false,
    spinOn: () => false,
    park: () => {
      parked = true;
      return true;
    },
    wake: () => {
      parked = false;
    },
    yieldToWokenPeer: () => undefined,
    get parked() {
      return parked;
    },
  };
}

/**
 * A host with one call in flight whose drain reads a reply on each of its
 * first `replies` turns (running `onRead` as it does), then nothing; every
 * drain runs `onDrain` first.
 */
function pumpOver(
  replies: number,
  onRead: (pump: CallerPump) => void = () => undefined,
  onDrain: (pump: CallerPump) => void = () => undefined,
) {
  const doorbell = createEventFd();
  let turns = 0;
  let idled = 0;
  const state = { liveCalls: 1, closed: false };
  const host: PumpHost = {
    publish: () => {
      turns++;
      return false;
    },
    inFlight: () => 1,
    drain: () => {
      onDrain(pump);
      if (turns > replies) return 0;
      onRead(pump);
      return 1;
    },
    prepareForWait: () => undefined,
    liveCalls: () => state.liveCalls,
    idle: () => {
      idled++;
    },
    closed: () => state.closed,
  };
  const pump = new CallerPump(host, sleepyWaiter(), doorbell);
  cleanups.push(() => {
    state.closed = true;
    pump.close();
    closeFd(doorbell);
  });
  return { pump, host: state, doorbell, turns: () => turns, idled: () => idled };
}

/** Resolves after every microtask queued so far (and those they queue) has run. */
const afterMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The number of turns taken when a microtask queued right after schedule() runs. */
function turnsInFirstHop(turns: () => number): Promise<number> {
  return new Promise((resolve) => queueMicrotask(() => resolve(turns())));
}

const reply: Reply = { seqId: 1, funcId: 1001, status: MsgStatus.Completed, payloadLen: 0, payload: new Uint8Array(0) };

describe('CallerPump', () => {
  it('takes no turn in the call that schedules it', () => {
    const { pump, turns } = pumpOver(0);
    pump.schedule();
    expect(turns()).toBe(0);
  });

  it('takes up to TURNS_IN_PLACE turns in one microtask while only handler calls settle', async () => {
    const { pump, turns } = pumpOver(100);
    pump.schedule();
    expect(await turnsInFirstHop(turns)).toBe(TURNS_IN_PLACE);
  });

  it('ends the turns in place when a promise call settles, so its continuation runs first', async () => {
    const { pump, turns } = pumpOver(100, (p) => p.promiseSettled());
    pump.schedule();
    expect(await turnsInFirstHop(turns)).toBe(1);
  });

  it('keeps taking turns while replies come, and stops at a turn that reads none', async () => {
    const { pump, turns } = pumpOver(40);
    pump.schedule();
    await afterMicrotasks();
    expect(turns()).toBe(41);
  });

  it('takes a turn asked for during a turn in place, as its next turn', async () => {
    let asked = false;
    // No replies: the first turn parks, and would end the loop but for the turn asked for meanwhile.
    const { pump, turns } = pumpOver(0, undefined, (p) => {
      if (asked) return;
      asked = true;
      p.schedule();
    });
    pump.schedule();
    expect(await turnsInFirstHop(turns)).toBe(2);
  });

  it('hands a handler its outcome once the reader is done with the turn, not during it', async () => {
    const seen: string[] = [];
    const handler = { onReply: () => seen.push('handler'), onError: () => seen.push('error') };
    const { pump } = pumpOver(1, (p) => {
      p.deliver(handler, reply, null);
      seen.push('read');
    });
    pump.schedule();
    await afterMicrotasks();
    expect(seen).toEqual(['read', 'handler']);
  });

  it('hands over an outcome settled outside a turn in a microtask, never synchronously', async () => {
    const errors: unknown[] = [];
    const { pump } = pumpOver(0);
    pump.deliver({ onReply: () => undefined, onError: (error) => errors.push(error) }, null, new Error('x') as never);
    expect(errors).toHaveLength(0);
    await afterMicrotasks();
    expect(errors).toHaveLength(1);
  });

  it('takes a turn when its doorbell rings while it sleeps', async () => {
    const { pump, doorbell, turns } = pumpOver(0);
    pump.schedule();
    await afterMicrotasks();
    const before = turns();
    signalEventFd(doorbell);
    await expect.poll(turns).toBeGreaterThan(before);
  });

  it('takes no turn once its caller is closed', async () => {
    const { pump, host, turns } = pumpOver(0);
    host.closed = true;
    pump.schedule();
    await afterMicrotasks();
    expect(turns()).toBe(0);
  });

  it('tells its caller it is idle a turn of the event loop after the last live call settled', async () => {
    const { pump, host, idled } = pumpOver(0);
    pump.ref();
    host.liveCalls = 0;
    pump.unrefWhenIdle();
    expect(idled()).toBe(0);
    await expect.poll(idled).toBe(1);
  });

  it('stays referenced when a call went live again before that turn', async () => {
    const { pump, host, idled } = pumpOver(0);
    pump.ref();
    host.liveCalls = 0;
    pump.unrefWhenIdle();
    host.liveCalls = 1;
    // A timer of the same delay set after the pump's runs after it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(idled()).toBe(0);
  });
});
