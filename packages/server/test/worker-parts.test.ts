import { describe, expect, it } from 'vitest';
import { ReleaseInOrder, ReleaseUpToHold, type ServedSlot } from '../src/served-slots.js';

// A request ring as the release policies see it: a read position that take()
// moves and the two release calls.
function fakeSlot() {
  const ring = {
    readPositionBytes: 0,
    readPositionCount: 0,
    released: [] as string[],
    take(bytes: number) {
      this.readPositionBytes += bytes;
      this.readPositionCount += 1;
    },
    release() {
      this.released.push(`all@${this.readPositionCount}`);
    },
    releaseTo(bytes: number, count: number) {
      this.released.push(`${bytes}/${count}`);
    },
  };
  const slot = { requests: ring, inOrder: [], hold: null } as unknown as ServedSlot;
  return { slot, ring };
}

describe('ReleaseInOrder (concurrency > 1)', () => {
  it('releases up to the first request still running, then past it once it is done', () => {
    const release = new ReleaseInOrder();
    const { slot, ring } = fakeSlot();
    ring.take(64);
    const first = release.taken(slot, false);
    ring.take(64);
    release.taken(slot, true); // skipped: nobody runs it
    ring.take(64);
    const third = release.taken(slot, false);
    release.release(slot);
    expect(ring.released).toEqual([]);
    third.done = true;
    release.release(slot);
    expect(ring.released).toEqual([]);
    first.done = true;
    release.release(slot);
    expect(ring.released).toEqual(['192/3']);
    expect(slot.inOrder).toEqual([]);
  });
});

describe('ReleaseUpToHold (zero copy)', () => {
  it('releases everything taken, except from a running async request onwards', () => {
    const release = new ReleaseUpToHold();
    const { slot, ring } = fakeSlot();
    ring.take(64);
    expect(release.taken()).toBeNull();
    release.release(slot);
    release.hold(slot, ring.readPositionBytes, ring.readPositionCount);
    ring.take(64);
    release.release(slot);
    slot.hold = null;
    release.release(slot);
    expect(ring.released).toEqual(['all@1', '64/1', 'all@2']);
  });
});
