#!/usr/bin/env node
// One-way throughput: SpscRingBuffer between two processes over a mapped
// POSIX shared-memory segment, against a worker_threads postMessage stream of
// the same payloads, measured in the same run.
//
//   pnpm --filter @phoenix-ipc/ringbuffer bench      (or: node bench/one-way.mjs)
//
// Environment: PHOENIX_BENCH_SCALE (default 1) multiplies the message counts;
// PHOENIX_BENCH_ROUNDS (default 3) is how many times each case runs (the
// median is printed).
//
// Ring: the producer process pushes N messages as fast as it can with
// pushBatch (32 at a time); the consumer process pops them with popBatch
// (up to 256 at a time); both spin 1000 times, then sleep 0.05..1 ms. Time runs
// from the producer's first push (once the consumer is ready) to the
// consumer's last message (CLOCK_MONOTONIC, shared by both processes).
// postMessage: the main thread posts Uint8Arrays to a worker that counts them
// (the worker acknowledges every 1024 so that at most 8192 are in flight);
// time runs from the first post to the worker's "all received".
// Every message carries its sequence number (bytes 0..3) and a check byte (the
// last byte); both receivers check the order, the count and a checksum.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { SharedSegment, setParentDeathSignal, unlinkSegment } from '@phoenix-ipc/native-shm';
import { SpscRingBuffer } from '../dist/index.js';

const SELF = fileURLToPath(import.meta.url);
const CONTROL_BYTES = 64;
const CONSUMER_READY = 0;
const STOP = 1;
const RING = { capacity: 8192, maxMessageSize: 4096, dataBytes: 1 << 22 };
const PUSH_BATCH = 32;
const POP_BATCH = 256;
const POST_WINDOW = 8192;
const POST_ACK_EVERY = 1024;

const SCALE = Number(process.env.PHOENIX_BENCH_SCALE ?? 1);
const ROUNDS = Number(process.env.PHOENIX_BENCH_ROUNDS ?? 3);
const CASES = [
  { size: 16, count: Math.round(3_000_000 * SCALE) },
  { size: 256, count: Math.round(1_000_000 * SCALE) },
  { size: 4096, count: Math.round(200_000 * SCALE) },
];

// ------------------------------------------------------------------ payloads

function stamp(payload, seq) {
  payload[0] = seq & 255;
  payload[1] = (seq >>> 8) & 255;
  payload[2] = (seq >>> 16) & 255;
  payload[3] = (seq >>> 24) & 255;
  payload[payload.length - 1] = (seq * 7 + 3) & 255;
}

function expectedChecksum(count) {
  let sum = 0;
  for (let seq = 0; seq < count; seq++) sum = (sum + ((seq * 7 + 3) & 255)) | 0;
  return sum;
}

/** Receiver side: checks order and size, sums the check bytes. */
function makeReceiver(size) {
  const state = { expected: 0, bad: 0, sum: 0 };
  state.receive = (view) => {
    const seq = (view[0] | (view[1] << 8) | (view[2] << 16) | (view[3] << 24)) >>> 0;
    if (seq !== state.expected >>> 0 || view.length !== size) state.bad++;
    state.sum = (state.sum + view[view.length - 1]) | 0;
    state.expected++;
  };
  return state;
}

function makeBackoff() {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let spins = 0;
  let sleepMs = 0.05;
  return {
    idle() {
      if (++spins < 1000) return;
      Atomics.wait(cell, 0, 0, sleepMs);
      sleepMs = Math.min(1, sleepMs * 2);
    },
    progress() {
      spins = 0;
      sleepMs = 0.05;
    },
  };
}

// ------------------------------------------------------------ ring processes

function ringProducer({ segment: name, size, count }) {
  const segment = SharedSegment.open(name);
  const control = new Int32Array(segment.buffer, 0, CONTROL_BYTES / 4);
  const ring = SpscRingBuffer.attach(segment.buffer, CONTROL_BYTES);
  const backoff = makeBackoff();
  while (Atomics.load(control, CONSUMER_READY) === 0) backoff.idle();
  const batch = Array.from({ length: PUSH_BATCH }, () => new Uint8Array(size).fill(0xab));
  const start = process.hrtime.bigint();
  let seq = 0;
  while (seq < count) {
    const n = Math.min(PUSH_BATCH, count - seq);
    for (let i = 0; i < n; i++) stamp(batch[i], seq + i);
    let pushed = ring.pushBatch(n === PUSH_BATCH ? batch : batch.slice(0, n));
    while (pushed < n) {
      if (Atomics.load(control, STOP) !== 0) throw new Error('stopped');
      backoff.idle();
      const more = ring.pushBatch(batch.slice(pushed, n));
      if (more > 0) backoff.progress();
      pushed += more;
    }
    seq += n;
  }
  process.stdout.write(`${JSON.stringify({ start: start.toString() })}\n`);
  segment.close();
}

function ringConsumer({ segment: name, size, count }) {
  const segment = SharedSegment.open(name);
  const control = new Int32Array(segment.buffer, 0, CONTROL_BYTES / 4);
  const ring = SpscRingBuffer.attach(segment.buffer, CONTROL_BYTES);
  const backoff = makeBackoff();
  const receiver = makeReceiver(size);
  Atomics.store(control, CONSUMER_READY, 1);
  let received = 0;
  while (received < count) {
    const n = ring.popBatch(Math.min(POP_BATCH, count - received), receiver.receive);
    if (n > 0) {
      received += n;
      backoff.progress();
    } else {
      if (Atomics.load(control, STOP) !== 0) throw new Error('stopped');
      backoff.idle();
    }
  }
  const end = process.hrtime.bigint();
  const extra = ring.peek() !== null;
  process.stdout.write(
    `${JSON.stringify({ end: end.toString(), received, bad: receiver.bad + (extra ? 1 : 0), sum: receiver.sum })}\n`,
  );
  segment.close();
}

function runChild(role, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, role, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()));
      else reject(new Error(`${role} exited with ${signal ?? code}`));
    });
    runChild.live.add(child);
    child.once('exit', () => runChild.live.delete(child));
  });
}
runChild.live = new Set();

let segmentCounter = 0;

async function benchRing(size, count) {
  const name = `/phx-ring-bench-${process.pid}-${segmentCounter++}`;
  const segment = SharedSegment.open(name, {
    create: true,
    exclusive: true,
    size: CONTROL_BYTES + SpscRingBuffer.requiredBytes(RING),
  });
  try {
    SpscRingBuffer.format(segment.buffer, CONTROL_BYTES, RING);
    const control = new Int32Array(segment.buffer, 0, CONTROL_BYTES / 4);
    const watchdog = setTimeout(() => Atomics.store(control, STOP, 1), 120_000);
    try {
      const [consumer, producer] = await Promise.all([
        runChild('ring-consumer', { segment: name, size, count }),
        runChild('ring-producer', { segment: name, size, count }),
      ]);
      const seconds = Number(BigInt(consumer.end) - BigInt(producer.start)) / 1e9;
      return { seconds, received: consumer.received, bad: consumer.bad, sum: consumer.sum };
    } finally {
      clearTimeout(watchdog);
    }
  } finally {
    segment.close();
    unlinkSegment(name);
  }
}

// ------------------------------------------------------------- postMessage

function postSink({ size, count }) {
  const receiver = makeReceiver(size);
  let received = 0;
  parentPort.on('message', (payload) => {
    receiver.receive(payload);
    received++;
    if (received % POST_ACK_EVERY === 0) parentPort.postMessage({ ack: received });
    if (received === count) {
      parentPort.postMessage({ done: true, received, bad: receiver.bad, sum: receiver.sum });
      parentPort.close();
    }
  });
  parentPort.postMessage({ ready: true });
}

function benchPostMessage(size, count) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SELF, { workerData: { role: 'post-sink', size, count } });
    const payload = new Uint8Array(size).fill(0xab);
    let sent = 0;
    let acked = 0;
    let start = 0n;
    const pump = () => {
      while (sent < count && sent - acked < POST_WINDOW) {
        stamp(payload, sent);
        worker.postMessage(payload);
        sent++;
      }
    };
    worker.on('message', (message) => {
      if (message.ready) {
        start = process.hrtime.bigint();
        pump();
      } else if (message.ack !== undefined) {
        acked = message.ack;
        pump();
      } else if (message.done) {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        void worker.terminate();
        resolve({ seconds, received: message.received, bad: message.bad, sum: message.sum });
      }
    });
    worker.once('error', reject);
  });
}

// ------------------------------------------------------------------- main

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function verify(what, result, count) {
  const sum = expectedChecksum(count);
  if (result.received !== count || result.bad !== 0 || result.sum !== sum) {
    throw new Error(
      `${what}: received ${result.received}/${count}, ${result.bad} out of order or wrong size, checksum ${result.sum} (expected ${sum})`,
    );
  }
}

async function main() {
  const rows = [];
  const started = performance.now();
  for (const { size, count } of CASES) {
    const ring = [];
    const post = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = await benchRing(size, count);
      verify(`ring ${size} B`, r, count);
      ring.push(count / r.seconds);
      const p = await benchPostMessage(size, count);
      verify(`postMessage ${size} B`, p, count);
      post.push(count / p.seconds);
    }
    const ringRate = median(ring);
    const postRate = median(post);
    rows.push({ size, count, ringRate, postRate });
    console.log(
      `  ${size} B: ring ${ring.map((r) => (r / 1e6).toFixed(2)).join(', ')} M/s; postMessage ${post.map((r) => (r / 1e6).toFixed(3)).join(', ')} M/s`,
    );
  }
  const mb = (rate, size) => ((rate * size) / 1e6).toFixed(0);
  console.log('');
  console.log(`SpscRingBuffer one-way throughput, two processes over POSIX shm vs worker_threads postMessage`);
  console.log(
    `node ${process.version}, ${process.platform}/${process.arch}, ring capacity ${RING.capacity}, data ${RING.dataBytes >> 10} KiB, median of ${ROUNDS}`,
  );
  console.log('');
  console.log(
    '| payload | messages | ring msg/s | ring MB/s | postMessage msg/s | postMessage MB/s | ring / postMessage |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const { size, count, ringRate, postRate } of rows) {
    console.log(
      `| ${size} B | ${count.toLocaleString('en-US')} | ${Math.round(ringRate).toLocaleString('en-US')} | ${mb(ringRate, size)} | ${Math.round(postRate).toLocaleString('en-US')} | ${mb(postRate, size)} | ${(ringRate / postRate).toFixed(1)}x |`,
    );
  }
  console.log('');
  console.log(
    `all messages verified (count, order, checksum); total ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

// ------------------------------------------------------------------ dispatch

if (!isMainThread) {
  if (workerData?.role === 'post-sink') postSink(workerData);
} else if (process.argv[2] === 'ring-producer' || process.argv[2] === 'ring-consumer') {
  setParentDeathSignal('SIGKILL');
  const options = JSON.parse(process.argv[3]);
  if (process.argv[2] === 'ring-producer') ringProducer(options);
  else ringConsumer(options);
} else {
  const stopChildren = () => {
    for (const child of runChild.live) child.kill('SIGKILL');
  };
  process.once('SIGINT', () => {
    stopChildren();
    process.exit(130);
  });
  main().catch((error) => {
    stopChildren();
    console.error(error);
    process.exitCode = 1;
  });
}
