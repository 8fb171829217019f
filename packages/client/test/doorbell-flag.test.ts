import { closeFd, createEventFd, waitSync } from '@phoenix-ipc/native-shm';
import { afterEach, describe, expect, it } from 'vitest';
import { ringIfParked } from '../src/internal.js';

const PARKED = 3;
let fds: number[] = [];

afterEach(() => {
  for (const fd of fds) closeFd(fd);
  fds = [];
});

function doorbell(): number {
  const fd = createEventFd();
  fds.push(fd);
  return fd;
}

describe('ringIfParked', () => {
  it('makes no syscall and rings nothing when the consumer is not parked', () => {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const fd = doorbell();
    expect(ringIfParked(words, PARKED, fd)).toBe(false);
    expect(waitSync(fd, 0)).toBe('timed-out');
  });

  it('rings a parked consumer once and clears its flag', () => {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const fd = doorbell();
    Atomics.store(words, PARKED, 1);
    expect(ringIfParked(words, PARKED, fd)).toBe(true);
    expect(Atomics.load(words, PARKED)).toBe(0);
    expect(waitSync(fd, 1000)).toBe('ok');
  });

  it('rings once per park however many producers publish', () => {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const fd = doorbell();
    Atomics.store(words, PARKED, 1);
    const rang = [0, 1, 2, 3].map(() => ringIfParked(words, PARKED, fd));
    expect(rang.filter(Boolean)).toHaveLength(1);
  });
});
