import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AbortWatch } from '../src/abort-watch.js';

describe('AbortWatch', () => {
  it('listens once per signal, however many calls share it, and stops with the last call', () => {
    const watch = new AbortWatch<string>(() => {});
    const controller = new AbortController();
    for (const call of ['a', 'b', 'c']) watch.add(controller.signal, call);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    for (const call of ['a', 'b']) watch.remove(controller.signal, call);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    watch.remove(controller.signal, 'c');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
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
    expect(getEventListeners(first.signal, 'abort')).toHaveLength(0);
  });
});
