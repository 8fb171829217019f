import { getEventListeners } from 'node:events';
import { countAddedListeners } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { AbortWatch, MAX_IDLE_SIGNALS } from '../src/abort-watch.js';

describe('AbortWatch', () => {
  it('listens once per signal, however many calls share it, and stops once idle after the last call', () => {
    const watch = new AbortWatch<string>(() => {});
    const controller = new AbortController();
    for (const call of ['a', 'b', 'c']) watch.add(controller.signal, call);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (const call of ['a', 'b', 'c']) watch.remove(controller.signal, call);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    watch.releaseIdle();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(watch.signals).toBe(0);
  });

  it('keeps the listener for the next call of the signal: calls made one after another add it once', () => {
    const watch = new AbortWatch<number>(() => {});
    const controller = new AbortController();
    const adds = countAddedListeners(controller.signal);
    for (let call = 0; call < 100; call++) {
      watch.add(controller.signal, call);
      watch.remove(controller.signal, call);
    }
    expect(adds()).toBe(1);
  });

  it('releases at idle only the signals that have no call left', () => {
    const watch = new AbortWatch<string>(() => {});
    const busy = new AbortController();
    const done = new AbortController();
    watch.add(busy.signal, 'a');
    watch.add(done.signal, 'b');
    watch.remove(done.signal, 'b');
    watch.releaseIdle();
    expect(getEventListeners(busy.signal, 'abort')).toHaveLength(1);
    expect(getEventListeners(done.signal, 'abort')).toHaveLength(0);
  });

  it(`keeps at most ${MAX_IDLE_SIGNALS} signals with no call left, releasing the oldest first`, () => {
    const watch = new AbortWatch<number>(() => {});
    const controllers = Array.from({ length: MAX_IDLE_SIGNALS + 3 }, () => new AbortController());
    controllers.forEach((controller, call) => {
      watch.add(controller.signal, call);
      watch.remove(controller.signal, call);
    });
    expect(watch.signals).toBe(MAX_IDLE_SIGNALS);
    const listening = controllers.map((controller) => getEventListeners(controller.signal, 'abort').length);
    expect(listening).toEqual([0, 0, 0, ...Array(MAX_IDLE_SIGNALS).fill(1)]);
  });

  it('a signal used again is no longer idle: the oldest idle one goes first, not it', () => {
    const watch = new AbortWatch<number>(() => {});
    const controllers = Array.from({ length: MAX_IDLE_SIGNALS }, () => new AbortController());
    controllers.forEach((controller, call) => {
      watch.add(controller.signal, call);
      watch.remove(controller.signal, call);
    });
    watch.add(controllers[0]!.signal, 100); // the oldest is busy again
    for (const call of [101, 102]) {
      const newcomer = new AbortController();
      watch.add(newcomer.signal, call);
      watch.remove(newcomer.signal, call); // the second makes one idle signal too many: controllers[1] goes
    }
    expect(getEventListeners(controllers[0]!.signal, 'abort')).toHaveLength(1);
    expect(getEventListeners(controllers[1]!.signal, 'abort')).toHaveLength(0);
  });

  it('removes every listener when released for good, calls or not', () => {
    const watch = new AbortWatch<string>(() => {});
    const busy = new AbortController();
    const idle = new AbortController();
    watch.add(busy.signal, 'a');
    watch.add(idle.signal, 'b');
    watch.remove(idle.signal, 'b');
    watch.releaseAll();
    expect(getEventListeners(busy.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(idle.signal, 'abort')).toHaveLength(0);
    expect(watch.signals).toBe(0);
  });

  it('forgets a kept signal that fires with no call left, and gives up on nothing', () => {
    const aborted: string[] = [];
    const watch = new AbortWatch<string>((call) => aborted.push(call));
    const controller = new AbortController();
    watch.add(controller.signal, 'a');
    watch.remove(controller.signal, 'a');
    controller.abort();
    expect(aborted).toEqual([]);
    expect(watch.signals).toBe(0);
    watch.releaseIdle(); // nothing left to release
    expect(watch.signals).toBe(0);
  });

  it('gives up on every call of a signal that fires, once each', () => {
    const aborted: string[] = [];
    const watch = new AbortWatch<string>((call) => {
      aborted.push(call);
      watch.remove(controller.signal, call); // settling a call removes it
    });
    const controller = new AbortController();
    for (const call of ['a', 'b', 'c']) watch.add(controller.signal, call);
    controller.abort();
    expect(aborted).toEqual(['a', 'b', 'c']);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('skips a call that settled while another of the same signal was given up on', () => {
    const aborted: string[] = [];
    const controller = new AbortController();
    const watch = new AbortWatch<string>((call) => {
      aborted.push(call);
      if (call === 'a') watch.remove(controller.signal, 'b'); // b settles as a result of a's abort
    });
    for (const call of ['a', 'b', 'c']) watch.add(controller.signal, call);
    controller.abort();
    expect(aborted).toEqual(['a', 'c']);
  });

  it('keeps signals apart', () => {
    const aborted: string[] = [];
    const watch = new AbortWatch<string>((call) => aborted.push(call));
    const first = new AbortController();
    const second = new AbortController();
    watch.add(first.signal, 'a');
    watch.add(second.signal, 'b');
    second.abort();
    expect(aborted).toEqual(['b']);
    watch.remove(first.signal, 'a');
    watch.releaseIdle();
    expect(getEventListeners(first.signal, 'abort')).toHaveLength(0);
  });
});
