import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { expectPhoenixError } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { SharedSegment, statSegment, unlinkSegment } from '../src/index.js';
import { segmentName, spawnFixture, track, useCleanup } from './helpers.js';

useCleanup();

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

function create(size = 4096, options: { mode?: number } = {}) {
  const name = segmentName();
  const segment = track(SharedSegment.open(name, { create: true, size, ...options }));
  return { name, segment };
}

describe('SharedSegment.open with create', () => {
  it('creates a new segment of the requested size and reports created === true', () => {
    const { name, segment } = create(8192);
    expect(segment.created).toBe(true);
    expect(segment.size).toBe(8192);
    expect(segment.buffer.byteLength).toBe(8192);
    expect(segment.name).toBe(name);
    expect(existsSync(`/dev/shm${name}`)).toBe(true);
  });

  it('opens an existing name with created === false and keeps its size', () => {
    const { name } = create(4096);
    const again = track(SharedSegment.open(name, { create: true, size: 65536 }));
    expect(again.created).toBe(false);
    expect(again.size).toBe(4096);
  });

  it('statSegment shows exists, size, the owner uid and mode 0o600 by default', () => {
    const { name } = create(12288);
    const stat = statSegment(name);
    expect(stat.exists).toBe(true);
    expect(stat.size).toBe(12288);
    expect(stat.uid).toBe(process.getuid!());
    expect(stat.gid).toBe(process.getgid!());
    expect(stat.mode).toBe(0o600);
    expect(stat.links).toBe(1);
  });

  it('gives a custom mode exactly, even under a umask that would narrow it', () => {
    const previous = process.umask(0o077);
    try {
      const { name } = create(4096, { mode: 0o640 });
      expect(statSegment(name).mode).toBe(0o640);
    } finally {
      process.umask(previous);
    }
  });

  it('statSegment reports exists === false for a missing name', () => {
    const stat = statSegment(segmentName());
    expect(stat.exists).toBe(false);
    expect(stat.size).toBe(0);
  });

  it('with exclusive: true refuses an existing name with ERR_PHOENIX_SEGMENT_EXISTS', () => {
    const { name } = create();
    const error = expectPhoenixError(
      () => SharedSegment.open(name, { create: true, exclusive: true, size: 4096 }),
      'ERR_PHOENIX_SEGMENT_EXISTS',
    );
    expect(error.syscall).toBe('shm_open');
    expect(error.path).toBe(name);
  });
});

describe('SharedSegment.open without create', () => {
  it('throws ERR_PHOENIX_SEGMENT_NOT_FOUND for a missing name', () => {
    const name = segmentName();
    const error = expectPhoenixError(() => SharedSegment.open(name), 'ERR_PHOENIX_SEGMENT_NOT_FOUND', /No such file/);
    expect(error.errno).toBeTypeOf('number');
  });

  it.runIf(isRoot)(
    'throws ERR_PHOENIX_PERMISSION to another user (child running as nobody) for a 0o600 segment',
    async () => {
      const { name } = create(4096); // owned by root, mode 0o600
      const child = spawnFixture('segment-child.mjs', ['open', name], { uid: NOBODY, gid: NOBODY });
      const result = JSON.parse(await child.line(/^\{/));
      expect(result.code).toBe('ERR_PHOENIX_PERMISSION');
      expect(result.message).toMatch(/Permission denied/);
      expect(await child.exited()).toEqual({ code: 0, signal: null });
    },
  );

  describe.each([
    ['a FIFO', (path: string) => execFileSync('mkfifo', [path])],
    ['a directory', (path: string) => mkdirSync(path)],
    ['a symlink to a segment', (path: string) => symlinkSync(`/dev/shm${create(4096).name}`, path)],
  ])('throws ERR_PHOENIX_BAD_SEGMENT at once when the name is %s', (_what, make) => {
    it.each([false, true])('readOnly: %s', (readOnly) => {
      const name = segmentName();
      const path = `/dev/shm${name}`;
      make(path);
      try {
        expectPhoenixError(() => SharedSegment.open(name, { readOnly }), 'ERR_PHOENIX_BAD_SEGMENT');
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
    });
  });

  // Root bypasses permission bits, so this variant only runs for an unprivileged user.
  it.skipIf(isRoot)('throws ERR_PHOENIX_PERMISSION for a segment created with mode 0o000', () => {
    const { name } = create(4096, { mode: 0o000 });
    expectPhoenixError(() => SharedSegment.open(name), 'ERR_PHOENIX_PERMISSION', /Permission denied/);
  });
});

describe('sharing between processes', () => {
  it('a second process mapping the segment by name sees values stored with Atomics.store', async () => {
    const { name, segment } = create();
    const view = new Int32Array(segment.buffer);
    for (const [i, value] of [11, -22, 33, 0x7fffffff].entries()) Atomics.store(view, i, value);
    const child = spawnFixture('segment-child.mjs', ['read-write', name]);
    expect(JSON.parse(await child.line(/"seen"/))).toEqual({ seen: [11, -22, 33, 0x7fffffff] });
    expect(await child.exited()).toEqual({ code: 0, signal: null });
  });

  it('the parent sees, through its existing mapping, values a child stores', async () => {
    const { name, segment } = create();
    const view = new Int32Array(segment.buffer);
    const child = spawnFixture('segment-child.mjs', ['read-write', name]);
    await child.line(/"written"/);
    expect([4, 5, 6, 7].map((i) => Atomics.load(view, i))).toEqual([100, 101, 102, 103]);
    expect(await child.exited()).toEqual({ code: 0, signal: null });
  });
});

describe('readOnly mappings', () => {
  it('see the current contents of the segment', () => {
    const { name, segment } = create();
    Atomics.store(new Int32Array(segment.buffer), 0, 42);
    const reader = track(SharedSegment.open(name, { readOnly: true }));
    expect(reader.created).toBe(false);
    expect(Atomics.load(new Int32Array(reader.buffer), 0)).toBe(42);
  });

  it('are copy-on-write: a write through one neither crashes nor reaches the segment', () => {
    const { name, segment } = create();
    const owner = new Int32Array(segment.buffer);
    Atomics.store(owner, 0, 42);
    const reader = track(SharedSegment.open(name, { readOnly: true }));
    const stray = new Int32Array(reader.buffer);
    stray[0] = 7;
    expect(stray[0]).toBe(7); // the private copy
    expect(Atomics.load(owner, 0)).toBe(42);
    const third = track(SharedSegment.open(name));
    expect(Atomics.load(new Int32Array(third.buffer), 0)).toBe(42);
  });
});

describe('unlinkSegment', () => {
  it('removes the /dev/shm entry and returns true', () => {
    const { name } = create();
    expect(unlinkSegment(name)).toBe(true);
    expect(existsSync(`/dev/shm${name}`)).toBe(false);
    expect(statSegment(name).exists).toBe(false);
  });

  it('returns false the second time', () => {
    const { name } = create();
    expect(unlinkSegment(name)).toBe(true);
    expect(unlinkSegment(name)).toBe(false);
  });

  it('leaves open mappings usable, and stat().links becomes 0', () => {
    const { name, segment } = create();
    expect(segment.stat().links).toBe(1);
    unlinkSegment(name);
    expect(segment.stat().links).toBe(0);
    const view = new Int32Array(segment.buffer);
    Atomics.store(view, 0, 5);
    expect(Atomics.load(view, 0)).toBe(5);
  });
});

describe('SharedSegment.close', () => {
  it('detaches the buffer: every view over it has length 0', () => {
    const { segment } = create(4096);
    const buffer = segment.buffer;
    const ints = new Int32Array(buffer);
    const bytes = new Uint8Array(buffer, 16, 32);
    const data = new DataView(buffer);
    Atomics.store(ints, 0, 1);
    segment.close();
    expect(buffer.byteLength).toBe(0);
    expect(ints.length).toBe(0);
    expect(bytes.length).toBe(0);
    expect(ints[0]).toBeUndefined();
    ints[0] = 9; // a write through a stale view goes nowhere
    expect(ints[0]).toBeUndefined();
    expect(() => data.getInt32(0)).toThrow(TypeError); // DataViews over a detached buffer throw
  });

  it('unmaps the segment at once, leaving the address range reserved as PROT_NONE', () => {
    const { name, segment } = create(65536);
    const mapsLine = (predicate: (line: string) => boolean) =>
      readFileSync('/proc/self/maps', 'utf8').split('\n').find(predicate);
    const mapped = mapsLine((line) => line.endsWith(`/dev/shm${name}`));
    expect(mapped).toMatch(/^[0-9a-f]+-[0-9a-f]+ rw-s /);
    const [start, end] = mapped!
      .split(' ')[0]!
      .split('-')
      .map((hex) => BigInt(`0x${hex}`)) as [bigint, bigint];
    segment.close();
    expect(mapsLine((line) => line.endsWith(`/dev/shm${name}`))).toBeUndefined();
    // Until the buffer's finalizer runs, nothing else can be mapped at the old address.
    // (The kernel may merge the reservation with a neighbouring PROT_NONE area.)
    const reservation = mapsLine((line) => {
      const [from, to] = line
        .split(' ')[0]!
        .split('-')
        .map((hex) => BigInt(`0x${hex}`)) as [bigint, bigint];
      return from <= start && end <= to;
    });
    expect(reservation).toMatch(/^\S+ ---p /);
  });

  it('makes segment.buffer throw ERR_PHOENIX_BAD_FD', () => {
    const { segment } = create();
    segment.close();
    expect(segment.closed).toBe(true);
    expect(segment.fd).toBe(-1);
    expectPhoenixError(() => segment.buffer, 'ERR_PHOENIX_BAD_FD', /closed/);
  });

  it('is idempotent', () => {
    const { segment } = create();
    segment.close();
    expect(() => segment.close()).not.toThrow();
    expect(segment.closed).toBe(true);
  });

  it('makes tryLock and stat throw ERR_PHOENIX_BAD_FD', () => {
    const { segment } = create();
    segment.close();
    expectPhoenixError(() => segment.tryLock(), 'ERR_PHOENIX_BAD_FD');
    expectPhoenixError(() => segment.stat(), 'ERR_PHOENIX_BAD_FD');
  });

  it('does not unlink the name', () => {
    const { name, segment } = create();
    segment.close();
    expect(statSegment(name).exists).toBe(true);
  });
});

describe('SharedSegment.tryLock (flock)', () => {
  it('takes the exclusive lock and another open of the segment (a child process) gets false', async () => {
    const { name, segment } = create();
    expect(segment.tryLock()).toBe(true);
    const child = spawnFixture('segment-child.mjs', ['try-lock', name]);
    expect(JSON.parse(await child.line(/locked/))).toEqual({ locked: false });
    await child.exited();
  });

  it('is granted to the other open again after unlock()', async () => {
    const { name, segment } = create();
    expect(segment.tryLock()).toBe(true);
    segment.unlock();
    const child = spawnFixture('segment-child.mjs', ['try-lock', name]);
    expect(JSON.parse(await child.line(/locked/))).toEqual({ locked: true });
    await child.exited();
  });

  it('is refused while a child holds it and granted once the holder is SIGKILLed', async () => {
    const { name, segment } = create();
    const holder = spawnFixture('segment-child.mjs', ['hold-lock', name]);
    expect(JSON.parse(await holder.line(/locked/))).toEqual({ locked: true });
    expect(segment.tryLock()).toBe(false);
    holder.process.kill('SIGKILL');
    expect((await holder.exited()).signal).toBe('SIGKILL');
    expect(segment.tryLock()).toBe(true);
  });

  it('shared locks coexist, and exclude an exclusive one', () => {
    const { name, segment } = create();
    const other = track(SharedSegment.open(name));
    expect(segment.tryLock('shared')).toBe(true);
    expect(other.tryLock('shared')).toBe(true);
    const third = track(SharedSegment.open(name));
    expect(third.tryLock('exclusive')).toBe(false);
  });
});
