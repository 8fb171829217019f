import { IpcClient } from '@phoenix-ipc/client';
import { SharedSegment } from '@phoenix-ipc/native-shm';
import { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { cpuTicks, mulberry32, sleep, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer, MsgStatus, type PhoenixError, type Priority, type WaitStrategy } from '../src/index.js';
import { ECHO, SIZED_REPLY } from './fixtures/handlers.mjs';
import { Harness, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());

async function start(waitStrategy: WaitStrategy, options: object = {}): Promise<{ server: IpcServer; name: string }> {
  const name = harness.name(`wait-${waitStrategy}`);
  const server = harness.track(
    await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 1, maxClients: 2, waitStrategy, ...options }),
  );
  await server.start(WORKER_SCRIPT, [name]);
  return { server, name };
}

describe.each(['adaptive', 'spin', 'block'] as const)("waitStrategy '%s'", (waitStrategy) => {
  it('serves sequential and pipelined calls from the supervisor and from a client', async () => {
    const { server, name } = await start(waitStrategy);
    const client = harness.track(IpcClient.create(name, { waitStrategy }));
    await client.connect(5000);
    for (let i = 0; i < 200; i++) {
      expect(text.decode((await server.call(ECHO, `s${i}`)).payload)).toBe(`s${i}`);
      expect(text.decode((await client.call(ECHO, `c${i}`)).payload)).toBe(`c${i}`);
    }
    const burst = await Promise.all(
      Array.from({ length: 500 }, (_, i) => client.call(ECHO, `b${i}`, (i % 2) as Priority)),
    );
    burst.forEach((reply, i) => {
      expect(text.decode(reply.payload)).toBe(`b${i}`);
    });
  });
});

describe('waiting costs no CPU while idle', () => {
  it.each(['adaptive', 'block'] as const)(
    "with '%s': workers, supervisor and a connected client stay idle",
    async (waitStrategy) => {
      const { server, name } = await start(waitStrategy);
      const client = harness.track(IpcClient.create(name, { waitStrategy }));
      await client.connect(5000);
      for (let i = 0; i < 1000; i++) await client.call(ECHO, 'warm');
      // Elapsed time on purpose (the test is about CPU over time): the spin budget runs out, everyone parks.
      await sleep(300);
      const pids = server.getWorkerStats().map((s) => s.pid);
      const before = pids.map(cpuTicks);
      const self = process.cpuUsage();
      await sleep(2000); // the measurement window: 2 s of idling
      const workerTicks = pids.map((pid, i) => cpuTicks(pid) - before[i]!);
      const usage = process.cpuUsage(self);
      // 2 s is 200 ticks of a core: idle means next to nothing (timers a few times a second).
      for (const ticks of workerTicks) expect(ticks).toBeLessThanOrEqual(4);
      // This process hosts the supervisor and the client (and vitest itself).
      expect((usage.user + usage.system) / 1000).toBeLessThan(200);
    },
  );
});

describe('a worker whose caller has not read its reply yet', () => {
  it("stays awake ('adaptive') while that caller is briefly busy, and parks once the reply is read", async () => {
    const { name } = await start('adaptive');
    // A first caller warms the worker up (a cold one takes milliseconds to reach its park). Its replies may wait
    // for it in a process as busy as this one: such a caller is not waited for, but that is counted per caller.
    const warm = harness.track(IpcClient.create(name, { waitStrategy: 'adaptive' }));
    await warm.connect(5000);
    for (let i = 0; i < 200; i++) await warm.call(ECHO, 'warm-up');
    const client = harness.track(IpcClient.create(name, { waitStrategy: 'adaptive' }));
    await client.connect(5000);
    const segment = SharedSegment.open(name);
    try {
      const layout = PhoenixShmLayout.attach(segment.buffer);
      const words = layout.views.words;
      const channel = layout.channels.find((c) => c.group === 'normal')!;
      const responses = layout.slots.map((slot) => channel.responseRing(slot.index));
      const unread = () => responses.reduce((n, ring) => n + ring.size(), 0);
      const parked = () => Atomics.load(words, channel.parkedIndex) === 1;
      await waitUntil(() => unread() === 0, 10_000, 'the warm-up replies to be read');
      // The call goes out at once (no other is in flight); this thread then stays busy, so nothing reads the reply.
      const reply = client.call(ECHO, 'unread');
      // The reply was published after the last look that found none: its time bounds the publication from below,
      // however late this thread (descheduled on a busy machine) sees the reply.
      let before = performance.now();
      for (;;) {
        const now = performance.now();
        if (unread() > 0) break;
        if (now - before > 10_000) throw new Error('no reply within 10 s');
        before = now;
      }
      // Past its learned spin (at most 120 µs) a warm worker parks; this one spins on for 2 ms while the reply lies
      // unread. PARKED is read before the clock: a park seen here happened within 1.5 ms of the publication.
      let parkedWithin = false;
      for (;;) {
        const isParked = parked();
        if (performance.now() - before >= 1.5) break;
        if (isParked) {
          parkedWithin = true;
          break;
        }
      }
      expect(parkedWithin).toBe(false);
      expect(text.decode((await reply).payload)).toBe('unread');
      await waitUntil(parked, 10_000, 'the worker to park once its reply was read');
    } finally {
      segment.close();
    }
  });
});

describe('park/wake races (block: every message parks its consumer)', () => {
  it('never loses a wake-up over many park/wake cycles', async () => {
    const calls = Number(process.env.PHOENIX_RACE_CALLS ?? 100_000);
    const { name } = await start('block');
    const client = harness.track(IpcClient.create(name, { waitStrategy: 'block' }));
    await client.connect(5000);
    let done = 0;
    let failed = 0;
    // Sequential calls (each one parks both sides) and small random bursts, all with timeouts:
    // a lost wake-up shows as ERR_PHOENIX_TIMEOUT.
    const random = mulberry32(12345);
    while (done + failed < calls) {
      const burst = random() < 0.7 ? 1 : 1 + Math.floor(random() * 16);
      const results = await Promise.allSettled(
        Array.from({ length: burst }, () => client.call(ECHO, 'race', { timeoutMs: 5000 })),
      );
      for (const result of results) {
        if (result.status === 'fulfilled') done++;
        else {
          failed++;
          console.error((result.reason as PhoenixError).code);
        }
      }
      if (random() < 0.001) await sleep(1); // not an ordering wait: now and then both sides go fully idle
    }
    expect(failed).toBe(0);
  }, 180_000);
});

describe('callInto', () => {
  it("copies the reply into the caller's buffer", async () => {
    const { server, name } = await start('adaptive');
    const target = new Uint8Array(64);
    const reply = await server.callInto(ECHO, 'into the buffer', target);
    expect(reply.payload.buffer).toBe(target.buffer);
    expect(text.decode(reply.payload)).toBe('into the buffer');
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    const theirs = await client.callInto(ECHO, 'client side', target, { timeoutMs: 5000 });
    expect(theirs.payload.buffer).toBe(target.buffer);
    expect(text.decode(theirs.payload)).toBe('client side');
    expect([reply.status, theirs.status]).toEqual([MsgStatus.Completed, MsgStatus.Completed]);
    const sync = client.callSync(ECHO, 'sync');
    expect(sync.status).toBe(MsgStatus.Completed);
  });

  it('fails with ERR_PHOENIX_PAYLOAD_TOO_LARGE when the reply does not fit', async () => {
    const { server } = await start('adaptive');
    const error = (await server
      .callInto(SIZED_REPLY, '100', new Uint8Array(10))
      .catch((e: unknown) => e)) as PhoenixError;
    expect(error.code).toBe('ERR_PHOENIX_PAYLOAD_TOO_LARGE');
  });
});
