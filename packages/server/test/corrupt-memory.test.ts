import { IpcClient } from '@phoenix-ipc/client';
import { SharedSegment } from '@phoenix-ipc/native-shm';
import { RingDescriptor } from '@phoenix-ipc/ringbuffer';
import { PhoenixShmLayout, SlotState, SUPERVISOR_SLOT } from '@phoenix-ipc/shm-layout';
import { mulberry32, sleep, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { ECHO } from './fixtures/handlers.mjs';
import { CLIENT_SCRIPT, Harness } from './harness.js';

const text = new TextDecoder();

const harness = new Harness();
afterEach(() => harness.cleanup());

const OPTIONS = {
  normalWorkers: 2,
  vipWorkers: 1,
  maxClients: 2,
  normalQueueCapacity: 16,
  vipQueueCapacity: 16,
  maxPayloadBytes: 256,
  restartBackoff: { initialMs: 10, maxMs: 100 },
  crashLoop: { maxCrashes: 1000, windowMs: 60_000 },
};

/** A cluster with one normal worker and the default crash-loop limit, and a client that was served once. */
async function oneWorkerAndAClient(name: string) {
  const cluster = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0, restartBackoff: { initialMs: 10 } });
  await cluster.waitFor('ready');
  const client = harness.track(IpcClient.create(name));
  await client.connect(5000);
  expect(text.decode((await client.call(ECHO, 'before', { timeoutMs: 5000 })).payload)).toBe('before');
  return { cluster, client };
}

/** Calls until a call is served (20 s at most): the reply, or null. */
async function callUntilServed(client: IpcClient): Promise<string | null> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const reply = await client
      .call(ECHO, 'after', { timeoutMs: 1000 })
      .then((r) => text.decode(r.payload))
      .catch(() => null);
    if (reply !== null) return reply;
  }
  return null;
}

/**
 * We are the broken peer: for PHOENIX_FUZZ_MS, random bytes at random places of a live segment (its structures,
 * the first 512 bytes of each ring, anywhere) while a load client calls in every way it can. Then every call of
 * the load client has settled, it and the supervisor are alive, and a newcomer is served.
 */
async function fuzzWhileCalled(name: string, options: typeof OPTIONS, largestExtraBytes: number): Promise<void> {
  const seed = Number(process.env.PHOENIX_FUZZ_SEED ?? 0x5eed);
  const fuzzMs = Number(process.env.PHOENIX_FUZZ_MS ?? 4000);
  const next = mulberry32(seed);
  const cluster = harness.cluster(name, options);
  await cluster.waitFor('ready');
  const load = harness.script(CLIENT_SCRIPT, [name, 'load', String(largestExtraBytes)]);
  await load.waitFor('connected');

  const segment = SharedSegment.open(name);
  const layout = PhoenixShmLayout.attach(segment.buffer);
  const bytes = new Uint8Array(segment.buffer);
  const structures = layout.geometry.ringsOffset; // header, worker records, slot records
  const ringOffsets = layout.channels.flatMap((channel) =>
    layout.slots.flatMap((slot) => [channel.requestRingOffset(slot.index), channel.responseRingOffset(slot.index)]),
  );
  let writes = 0;
  const until = Date.now() + fuzzMs;
  while (Date.now() < until) {
    const kind = next();
    let offset: number;
    if (kind < 0.3) offset = Math.floor(next() * structures);
    else if (kind < 0.7) offset = ringOffsets[Math.floor(next() * ringOffsets.length)]! + Math.floor(next() * 512);
    else offset = Math.floor(next() * layout.geometry.totalBytes);
    const length = 1 + Math.floor(next() * 8);
    for (let i = 0; i < length && offset + i < bytes.length; i++) bytes[offset + i] = Math.floor(next() * 256);
    writes++;
    if (writes % 8 === 0) await sleep(2); // not an ordering wait: paces the fuzz, which runs for fuzzMs
  }
  segment.close();

  // Every call of the load client settles; it is still alive.
  load.send('stop');
  const { tally } = (await load.waitFor('tally', 30_000)) as {
    tally: { ok: number; pending: number; errors: Record<string, number> };
  };
  expect(tally.pending).toBe(0);
  expect(load.exit).toBeNull();
  // The supervisor survived and answers its control channel.
  cluster.send('stats');
  const stats = await cluster.waitFor('state', 10_000);
  expect(stats.state).toBe('running');
  expect(cluster.exit).toBeNull();

  // Service resumes for a newcomer (workers may have been replaced on fresh channels).
  const client = harness.track(IpcClient.create(name));
  const deadline = Date.now() + 20_000;
  let served = 0;
  const failures: Record<string, number> = {};
  while (served < 10 && Date.now() < deadline) {
    try {
      if (!client.isConnected()) await client.connect(2000);
      const reply = await client.call(ECHO, `after ${served}`, { timeoutMs: 1000 });
      if (text.decode(reply.payload) === `after ${served}`) served++;
    } catch (error) {
      failures[(error as { code: string }).code] = (failures[(error as { code: string }).code] ?? 0) + 1;
      await sleep(50); // not an ordering wait: a retry's pause (the loop waits for `served`, bounded)
    }
  }
  cluster.send('stats');
  const after = (await cluster.waitFor('state', 10_000, cluster.messages.length)).stats;
  if (served !== 10) console.log(JSON.stringify({ served, failures, after }));
  expect(served).toBe(10);
  console.log(`fuzz seed ${seed}: ${writes} writes; load tally ${JSON.stringify(tally)}`);
}

describe('garbage written into a live segment by a broken peer', () => {
  it('crashes and hangs nothing: every call gets a reply or an error, and service resumes', async () => {
    await fuzzWhileCalled(harness.name('fuzz'), OPTIONS, 200);
  }, 120_000);

  it('crashes and hangs nothing with replies of up to 12 KiB (each copied into memory of its own)', async () => {
    await fuzzWhileCalled(harness.name('fuzzbig'), { ...OPTIONS, maxPayloadBytes: 16 * 1024 }, 12 * 1024);
  }, 120_000);
});

describe('a request ring whose consumer index a broken peer overwrote', () => {
  it('is reported by its caller and reset: calls fail until then, and are served again after', async () => {
    const name = harness.name('head');
    const cluster = harness.cluster(name, { ...OPTIONS, normalWorkers: 1 });
    await cluster.waitFor('ready');
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    expect(text.decode((await client.call(ECHO, 'before', { timeoutMs: 5000 })).payload)).toBe('before');
    cluster.send('stats');
    const { stats } = await cluster.waitFor('state', 10_000, cluster.messages.length);
    const worker = (stats as { pid: number }[])[0]!.pid;
    const segment = SharedSegment.open(name);
    try {
      const layout = PhoenixShmLayout.attach(segment.buffer);
      const channel = layout.channels.find((c) => c.group === 'normal')!;
      // The worker holds still, so that nothing it publishes writes over what we do next.
      process.kill(worker, 'SIGSTOP');
      // We are the broken peer: the consumer's published message count now runs far ahead of the producer's.
      const headCount = (channel.requestRingOffset(client.slot) + RingDescriptor.HEAD_COUNT_OFFSET) >> 2;
      Atomics.store(layout.views.words, headCount, 0x19f0_0000);
      // Requests fill the ring; the caller reads the consumer's count when its own view says full, and finds it
      // broken. It reports the channel, and the supervisor replaces the worker on a freshly formatted one.
      const deadline = Date.now() + 20_000;
      let reply: string | null = null;
      while (reply === null && Date.now() < deadline) {
        const burst = Array.from({ length: OPTIONS.normalQueueCapacity + 1 }, () =>
          client
            .call(ECHO, 'after', { timeoutMs: 500 })
            .then((r) => text.decode(r.payload))
            .catch(() => null),
        );
        reply = (await Promise.all(burst)).find((value) => value !== null) ?? null;
      }
      expect(reply).toBe('after');
      cluster.send('stats');
      const after = await cluster.waitFor('state', 10_000, cluster.messages.length);
      expect((after.stats as { crashes: number }[])[0]!.crashes).toBe(1);
    } finally {
      segment.close();
    }
  }, 60_000);
});

describe('random bytes written over the whole segment', () => {
  it('leave no worker group down: the supervisor repairs before each replacement attaches, and serves again', async () => {
    const name = harness.name('whole');
    // The default crash-loop limit: five replacements failing as they attach would leave the group down.
    const { cluster, client } = await oneWorkerAndAClient(name);
    const segment = SharedSegment.open(name);
    try {
      const next = mulberry32(0x90b6e);
      const words = new Int32Array(segment.buffer);
      for (let i = 0; i < words.length; i++) words[i] = (next() * 2 ** 32) | 0;
    } finally {
      segment.close();
    }
    // Our own slot's rings were overwritten too: the client reports them and gets them back formatted.
    expect(await callUntilServed(client)).toBe('after');
    cluster.send('stats');
    const after = await cluster.waitFor('state', 10_000, cluster.messages.length);
    expect((after.stats as { down: boolean }[])[0]!.down).toBe(false);
  }, 60_000);
});

describe("random bytes over a worker's record and the header of a ring it serves", () => {
  it('are found by the supervisor, which resets the channel: calls are served again', async () => {
    const name = harness.name('record');
    const { client } = await oneWorkerAndAClient(name);
    const segment = SharedSegment.open(name);
    try {
      const layout = PhoenixShmLayout.attach(segment.buffer);
      const channel = layout.channels[0]!;
      const next = mulberry32(0x9ec0);
      const words = new Int32Array(segment.buffer);
      // The worker's record (its PARKED word among the rest: the worker sleeps, and nobody rings it)...
      const record = layout.geometry.workersOffset >> 2;
      for (let i = 0; i < layout.geometry.workerRecordBytes >> 2; i++) words[record + i] = (next() * 2 ** 32) | 0;
      // ...and the header of our request ring, which neither side reads again once attached.
      const ring = channel.requestRingOffset(client.slot) >> 2;
      for (let i = 0; i < RingDescriptor.HEADER_BYTES >> 2; i++) words[ring + i] = (next() * 2 ** 32) | 0;
    } finally {
      segment.close();
    }
    expect(await callUntilServed(client)).toBe('after');
  }, 60_000);
});

describe("a ring header overwritten while a crashed worker's replacement waits to start", () => {
  /** One normal worker, no spare, a replacement a second after a crash; the worker was SIGKILLed and recovered. */
  async function crashedWithReplacementWaiting(name: string) {
    const cluster = harness.cluster(name, {
      normalWorkers: 1,
      vipWorkers: 0,
      maxClients: 3,
      spareWorkers: 0, // a spare would take the index over within milliseconds
      restartBackoff: { initialMs: 1000, maxMs: 1000 },
    });
    const ready = await cluster.waitFor('ready');
    process.kill((ready.stats as { pid: number }[])[0]!.pid, 'SIGKILL');
    const crashes = () => cluster.messages.filter((m) => m.event === 'workerCrash');
    // Recovery is done once the event is out; the replacement starts a second from now.
    await waitUntil(() => crashes().length === 1, 10_000, 'the crash');
    return { cluster, crashes };
  }

  /** As the broken peer: the producer index of the request ring of `slot` with the first worker is no longer 8-byte aligned. */
  function misalignRequestRing(name: string, slot: number, alsoMarkActive = false): void {
    const segment = SharedSegment.open(name);
    try {
      const layout = PhoenixShmLayout.attach(segment.buffer);
      const tail = (layout.channels[0]!.requestRingOffset(slot) + RingDescriptor.TAIL_BYTES_OFFSET) >> 2;
      Atomics.store(layout.views.words, tail, Atomics.load(layout.views.words, tail) + 4);
      if (alsoMarkActive) layout.getSlot(slot).state = SlotState.Active;
    } finally {
      segment.close();
    }
  }

  it('is found before the replacement starts, which starts on a fresh format: no second crash, calls served', async () => {
    const name = harness.name('own-ring');
    const { cluster, crashes } = await crashedWithReplacementWaiting(name);
    // The supervisor's own ring: no serving worker has the channel, so the heartbeat's look passes it by.
    misalignRequestRing(name, SUPERVISOR_SLOT);
    await waitUntil(() => cluster.messages.some((m) => m.event === 'workerRestart'), 10_000, 'the replacement');
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    expect(await callUntilServed(client)).toBe('after');
    expect(crashes()).toHaveLength(1);
  }, 60_000);

  it('of a free slot whose state word says active is left for its next admission: the supervisor goes on', async () => {
    const name = harness.name('free-ring');
    const { cluster } = await crashedWithReplacementWaiting(name);
    // No client has slot 2: its reset would format nothing, and a check that believed the state word would reset
    // it again and again instead of starting the replacement. The broken peer keeps writing (the supervisor puts
    // the state word back on its heartbeat) until the replacement is up.
    const restarted = () => cluster.messages.some((m) => m.event === 'workerRestart');
    const deadline = Date.now() + 10_000;
    while (!restarted() && Date.now() < deadline) {
      misalignRequestRing(name, 2, true);
      await sleep(2); // not an ordering wait: paces the broken peer's writes, which last until the restart
    }
    expect(restarted()).toBe(true);
    const stats = await cluster.ask('stats', 'state', 10_000);
    expect(stats.state).toBe('running');
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    expect(await callUntilServed(client)).toBe('after');
  }, 60_000);
});

describe('a doorbell silenced by a broken peer', () => {
  it('still reaches a parked worker: the supervisor rings a channel whose requests do not move', async () => {
    const name = harness.name('silenced');
    const cluster = harness.cluster(name, { ...OPTIONS, normalWorkers: 1 });
    await cluster.waitFor('ready');
    const segment = SharedSegment.open(name);
    try {
      const layout = PhoenixShmLayout.attach(segment.buffer);
      const words = layout.views.words;
      const channel = layout.channels.find((c) => c.group === 'normal')!;
      await waitUntil(() => Atomics.load(words, channel.parkedIndex) === 1, 10_000, 'the worker to park');
      // We are the broken peer: the worker sleeps, but its PARKED word now says it is awake,
      // so the caller below will not ring it.
      Atomics.store(words, channel.parkedIndex, 0);
      const client = harness.track(IpcClient.create(name));
      await client.connect(5000);
      const reply = await client.call(ECHO, 'wake up', { timeoutMs: 20_000 });
      expect(text.decode(reply.payload)).toBe('wake up');
    } finally {
      segment.close();
    }
  }, 60_000);
});
