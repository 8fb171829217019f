/**
 * A real producer and a real consumer running at the same time over one ring:
 * (a) two worker_threads over a SharedArrayBuffer, (b) two processes over a
 * mapped POSIX shared-memory segment (native-shm, a test-only harness).
 *
 * The producer sends PHOENIX_RING_MESSAGES (default 10 million) messages of
 * seeded random sizes, mostly 0..64 bytes, some up to 1 KiB, each carrying
 * its sequence number and a checksum (test/fixtures/ring-traffic.mjs). The
 * consumer regenerates the sizes and checks every message: FIFO order (the
 * sequence number goes up by exactly one), no loss, no duplicate, no torn
 * payload. Both report a count, a byte total and a digest, which must match.
 *
 * The fixtures load the built package (dist/): run `npx tsup` first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SharedSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SpscRingBuffer } from '../src/index.js';
import { CONTROL_BYTES, fillMessage, messageSizes, STOP } from './fixtures/ring-traffic.mjs';

const MESSAGES = Number(process.env.PHOENIX_RING_MESSAGES ?? 10_000_000);
const SEED = Number(process.env.PHOENIX_RING_SEED ?? 0x1badb002);
/** Generous: 10 million messages take about 5 s per case on a 2-vCPU VM. */
const WATCHDOG_MS = Number(process.env.PHOENIX_RING_WATCHDOG_MS ?? 30_000 + MESSAGES / 20);
const TEST_TIMEOUT_MS = WATCHDOG_MS + 30_000;

const THREAD_PEER = new URL('./fixtures/ring-peer-thread.mjs', import.meta.url);
const PROCESS_PEER = new URL('./fixtures/ring-peer-process.mjs', import.meta.url).pathname;
const SEGMENT_PREFIX = `phx-ring-test-${process.pid}-`;

interface PeerResult {
  role: 'producer' | 'consumer';
  ok: boolean;
  failure?: string;
  sent?: number;
  received?: number;
  bytes?: number;
  digest?: number;
  ms?: number;
  sleeps?: number;
}

interface Traffic {
  count: number;
  seed: number;
  maxMessageSize: number;
}

// Everything a test starts, so that afterEach can stop it whatever happened.
const workers = new Set<Worker>();
const children = new Set<ChildProcess>();
const segmentNames = new Set<string>();
const mappings = new Set<SharedSegment>();
let segmentCounter = 0;

async function cleanUp(): Promise<void> {
  await Promise.all([...workers].map((worker) => worker.terminate()));
  workers.clear();
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  children.clear();
  for (const segment of mappings) segment.close();
  mappings.clear();
  for (const name of segmentNames) unlinkSegment(name);
  segmentNames.clear();
}

afterEach(cleanUp);
afterAll(cleanUp);

/**
 * Rejects after `ms`: first raises the STOP flag so that live peers give up and
 * report, then (2 s later) fails the test; afterEach kills whatever is left.
 */
function watchdog(control: Int32Array, ms: number, what: string): { promise: Promise<never>; cancel: () => void } {
  const timers: NodeJS.Timeout[] = [];
  const promise = new Promise<never>((_resolve, reject) => {
    timers.push(
      setTimeout(() => {
        Atomics.store(control, STOP, 1);
        timers.push(setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms (watchdog)`)), 2_000));
      }, ms),
    );
  });
  promise.catch(() => {}); // the race reports it; never an unhandled rejection
  return { promise, cancel: () => timers.forEach(clearTimeout) };
}

function checkResults(producer: PeerResult, consumer: PeerResult, traffic: Traffic): void {
  expect(consumer.failure ?? null, 'consumer failure').toBeNull();
  expect(producer.failure ?? null, 'producer failure').toBeNull();
  expect(producer.ok && consumer.ok).toBe(true);
  expect(producer.sent).toBe(traffic.count);
  expect(consumer.received).toBe(traffic.count);
  expect(consumer.bytes).toBe(producer.bytes);
  expect(consumer.digest).toBe(producer.digest);
}

function report(what: string, producer: PeerResult, consumer: PeerResult, ms: number): void {
  const rate = (MESSAGES / (ms / 1000) / 1e6).toFixed(2);
  console.log(
    `${what}: ${consumer.received} messages (${((consumer.bytes ?? 0) / 2 ** 20).toFixed(0)} MiB) in ${ms.toFixed(0)} ms, ${rate} M msg/s; sleeps: producer ${producer.sleeps}, consumer ${consumer.sleeps}`,
  );
}

function runThread(shared: SharedArrayBuffer, role: 'producer' | 'consumer', traffic: Traffic): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(THREAD_PEER, { workerData: { shared, role, ...traffic } });
    workers.add(worker);
    worker.once('message', (result: PeerResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      workers.delete(worker);
      reject(new Error(`${role} worker exited with code ${code} before reporting`));
    });
  });
}

function runProcess(segment: string, role: 'producer' | 'consumer', traffic: Traffic): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const args = JSON.stringify({ segment, role, parentPid: process.pid, ...traffic });
    const child = spawn(process.execPath, [PROCESS_PEER, args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      children.delete(child);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as PeerResult);
      else reject(new Error(`${role} process exited with ${signal ?? code}: ${stderr.trim() || stdout.trim()}`));
    });
  });
}

function newSegmentName(): string {
  const name = `/${SEGMENT_PREFIX}${segmentCounter++}`;
  segmentNames.add(name);
  return name;
}

function leftoverSegments(): string[] {
  return readdirSync('/dev/shm').filter((entry) => entry.startsWith(SEGMENT_PREFIX));
}

const BIG_RING = { capacity: 4096, maxMessageSize: 1024 }; // 256 KiB of data
const TINY_RING = { capacity: 4, maxMessageSize: 120, dataBytes: 256 }; // two maximum records

describe('one producer and one consumer running concurrently', () => {
  it(
    `two worker_threads over a SharedArrayBuffer move ${MESSAGES} messages intact and in order`,
    async () => {
      const traffic = { count: MESSAGES, seed: SEED, maxMessageSize: BIG_RING.maxMessageSize };
      const shared = new SharedArrayBuffer(CONTROL_BYTES + SpscRingBuffer.requiredBytes(BIG_RING));
      SpscRingBuffer.format(shared, CONTROL_BYTES, BIG_RING);
      const control = new Int32Array(shared, 0, CONTROL_BYTES / 4);
      const dog = watchdog(control, WATCHDOG_MS, 'worker_threads');
      const started = performance.now();
      try {
        const [consumer, producer] = await Promise.race([
          Promise.all([runThread(shared, 'consumer', traffic), runThread(shared, 'producer', traffic)]),
          dog.promise,
        ]);
        report('worker_threads', producer, consumer, performance.now() - started);
        checkResults(producer, consumer, traffic);
      } finally {
        dog.cancel();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'two worker_threads over a tiny ring (two maximum records) hand over every message',
    async () => {
      const traffic = { count: Math.ceil(MESSAGES / 20), seed: SEED + 1, maxMessageSize: TINY_RING.maxMessageSize };
      const shared = new SharedArrayBuffer(CONTROL_BYTES + SpscRingBuffer.requiredBytes(TINY_RING));
      SpscRingBuffer.format(shared, CONTROL_BYTES, TINY_RING);
      const control = new Int32Array(shared, 0, CONTROL_BYTES / 4);
      const dog = watchdog(control, WATCHDOG_MS, 'tiny ring');
      try {
        const [consumer, producer] = await Promise.race([
          Promise.all([runThread(shared, 'consumer', traffic), runThread(shared, 'producer', traffic)]),
          dog.promise,
        ]);
        checkResults(producer, consumer, traffic);
      } finally {
        dog.cancel();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a third thread can attach and read size() while both peers run (never a false ERR_PHOENIX_BAD_RING or wrong size)',
    async () => {
      // More capacity than the bytes can hold (8-byte records at least): size() can never honestly reach it.
      const ring = { capacity: 1 << 16, maxMessageSize: 1024, dataBytes: 1 << 18 };
      const mostRecords = ring.dataBytes / 8;
      const traffic = { count: Math.ceil(MESSAGES / 5), seed: SEED + 4, maxMessageSize: ring.maxMessageSize };
      const shared = new SharedArrayBuffer(CONTROL_BYTES + SpscRingBuffer.requiredBytes(ring));
      SpscRingBuffer.format(shared, CONTROL_BYTES, ring);
      const control = new Int32Array(shared, 0, CONTROL_BYTES / 4);
      const observer = SpscRingBuffer.attach(shared, CONTROL_BYTES);
      let finished = false;
      const dog = watchdog(control, WATCHDOG_MS, 'observer');
      const peers = Promise.race([
        Promise.all([runThread(shared, 'consumer', traffic), runThread(shared, 'producer', traffic)]),
        dog.promise,
      ]).finally(() => {
        finished = true;
      });
      peers.catch(() => {});
      let attaches = 0;
      const attachFailures: string[] = [];
      const wrongSizes: number[] = [];
      try {
        while (!finished) {
          for (let i = 0; i < 1000; i++) {
            try {
              SpscRingBuffer.attach(shared, CONTROL_BYTES);
              attaches++;
            } catch (error) {
              attachFailures.push(String(error));
            }
            const size = observer.size();
            if (size > mostRecords) wrongSizes.push(size);
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        const [consumer, producer] = await peers;
        checkResults(producer, consumer, traffic);
        expect(attachFailures.slice(0, 3)).toEqual([]);
        expect(wrongSizes.slice(0, 3)).toEqual([]);
        expect(attaches).toBeGreaterThan(1000);
      } finally {
        dog.cancel();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    `two processes over a mapped shared-memory segment move ${MESSAGES} messages intact and in order`,
    async () => {
      const traffic = { count: MESSAGES, seed: SEED + 2, maxMessageSize: BIG_RING.maxMessageSize };
      const name = newSegmentName();
      const segment = SharedSegment.open(name, {
        create: true,
        exclusive: true,
        size: CONTROL_BYTES + SpscRingBuffer.requiredBytes(BIG_RING),
      });
      mappings.add(segment);
      SpscRingBuffer.format(segment.buffer, CONTROL_BYTES, BIG_RING);
      const control = new Int32Array(segment.buffer, 0, CONTROL_BYTES / 4);
      const dog = watchdog(control, WATCHDOG_MS, 'processes');
      const started = performance.now();
      try {
        const [consumer, producer] = await Promise.race([
          Promise.all([runProcess(name, 'consumer', traffic), runProcess(name, 'producer', traffic)]),
          dog.promise,
        ]);
        report('processes', producer, consumer, performance.now() - started);
        checkResults(producer, consumer, traffic);
        // The parent's own mapping sees the same, drained ring.
        const ring = SpscRingBuffer.attach(segment.buffer, CONTROL_BYTES);
        expect(ring.empty()).toBe(true);
        expect(ring.consumedCount()).toBe(MESSAGES >>> 0);
      } finally {
        dog.cancel();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it('a consumer process reports a failure (and stops the producer) when a message is corrupted in flight', async () => {
    // Guards the checker itself: a torn payload must not go unnoticed.
    const traffic = { count: 200_000, seed: SEED + 3, maxMessageSize: TINY_RING.maxMessageSize };
    const name = newSegmentName();
    const segment = SharedSegment.open(name, {
      create: true,
      exclusive: true,
      size: CONTROL_BYTES + SpscRingBuffer.requiredBytes(TINY_RING),
    });
    mappings.add(segment);
    const ring = SpscRingBuffer.format(segment.buffer, CONTROL_BYTES, TINY_RING);
    const control = new Int32Array(segment.buffer, 0, CONTROL_BYTES / 4);
    // Publish a first message that is wrong, as a torn write would leave it.
    const size = messageSizes(traffic.seed, traffic.maxMessageSize)();
    const first = ring.pushEmplace(TINY_RING.maxMessageSize)!;
    fillMessage(first, 0, size);
    first[Math.max(0, size - 1)]! ^= 0xff;
    ring.commit(Math.max(1, size));
    const dog = watchdog(control, 60_000, 'corrupted message');
    try {
      const results = await Promise.race([
        Promise.allSettled([runProcess(name, 'consumer', traffic), runProcess(name, 'producer', traffic)]),
        dog.promise,
      ]);
      const [consumer, producer] = results.map((r) =>
        r.status === 'fulfilled' ? r.value : { ok: false, failure: String(r.reason) },
      );
      expect(consumer!.ok).toBe(false);
      expect(consumer!.failure).toMatch(/message 0 /);
      expect(producer!.ok).toBe(false);
      expect(producer!.failure).toMatch(/stopped/);
    } finally {
      dog.cancel();
    }
  }, 90_000);

  it('leaves no shared-memory segment behind', async () => {
    await cleanUp();
    expect(leftoverSegments()).toEqual([]);
  });
});
