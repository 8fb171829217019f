#!/usr/bin/env node
// Cross-process wake-up latency of eventfd doorbells.
//
// Two processes ping-pong through two eventfds that the child inherits as fds 3
// (ping: parent -> child) and 4 (pong: child -> parent). Each round trip is
// two wake-ups, so one-way latency = round trip / 2. Measured twice:
//   watcher   FdWatcher on both sides (async, on the event loop)
//   waitSync  waitSync on both sides (the thread blocks in poll(2))
//
// Usage: pnpm build && node bench/wakeup-latency.mjs [roundTrips=20000] [warmUp=2000]
import { spawn } from 'node:child_process';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { closeFd, createEventFd, FdWatcher, signalEventFd, waitSync } from '../dist/index.js';

const PING = 3;
const PONG = 4;
const TIMEOUT_MS = 10_000;

if (process.argv[2] === '--child') {
  runChild(process.argv[3], Number(process.argv[4]));
} else {
  await main(Number(process.argv[2] ?? 20_000), Number(process.argv[3] ?? 2_000));
}

/** The echo side: answers each ping with a pong, `total` times. */
function runChild(mode, total) {
  if (mode === 'waitSync') {
    signalEventFd(PONG); // ready
    for (let i = 0; i < total; i++) {
      if (waitSync(PING, TIMEOUT_MS) !== 'ok') process.exit(2);
      signalEventFd(PONG);
    }
    return;
  }
  let count = 0;
  const watchdog = setTimeout(() => process.exit(2), TIMEOUT_MS * 10);
  const watcher = new FdWatcher(PING, () => {
    signalEventFd(PONG);
    if (++count === total) {
      watcher.close();
      clearTimeout(watchdog);
    }
  });
  watcher.start();
  signalEventFd(PONG); // ready
}

async function main(roundTrips, warmUp) {
  if (!Number.isInteger(roundTrips) || roundTrips < 1 || !Number.isInteger(warmUp) || warmUp < 0) {
    throw new Error('usage: wakeup-latency.mjs [roundTrips] [warmUp]');
  }
  console.log(
    `eventfd wake-up latency: ${roundTrips} round trips after ${warmUp} warm-up, ` +
      `Node ${process.version}, Linux ${release()}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'})`,
  );
  console.log('one-way latency = round trip / 2, in µs');
  console.log('mode       p50      p99      mean     max');
  for (const mode of ['watcher', 'waitSync']) {
    const samples = await measure(mode, roundTrips, warmUp);
    const stats = summarize(samples);
    console.log(
      `${mode.padEnd(9)} ${[stats.p50, stats.p99, stats.mean, stats.max].map((v) => v.toFixed(1).padStart(7)).join('  ')}`,
    );
  }
}

/** Runs one child and returns `roundTrips` one-way latencies in µs. */
async function measure(mode, roundTrips, warmUp) {
  const total = warmUp + roundTrips;
  const ping = createEventFd();
  const pong = createEventFd();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, String(total)], {
    stdio: ['ignore', 'inherit', 'inherit', ping, pong],
  });
  const exited = new Promise((resolve, reject) => {
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${mode} child exited with ${code ?? signal}`)),
    );
  });
  exited.catch(() => {}); // awaited below; do not report it as unhandled meanwhile
  const samples = new Float64Array(roundTrips);
  try {
    if (mode === 'waitSync') {
      if (waitSync(pong, TIMEOUT_MS) !== 'ok') throw new Error('child did not start');
      for (let i = 0; i < total; i++) {
        const start = process.hrtime.bigint();
        signalEventFd(ping);
        if (waitSync(pong, TIMEOUT_MS) !== 'ok') throw new Error('child stopped answering');
        const end = process.hrtime.bigint();
        if (i >= warmUp) samples[i - warmUp] = Number(end - start) / 2000;
      }
    } else {
      await new Promise((resolve, reject) => {
        let i = -1; // -1: waiting for "ready"
        let start = 0n;
        const watchdog = setTimeout(() => reject(new Error('child stopped answering')), TIMEOUT_MS * 10);
        const watcher = new FdWatcher(pong, () => {
          const end = process.hrtime.bigint();
          if (i >= warmUp) samples[i - warmUp] = Number(end - start) / 2000;
          if (++i === total) {
            watcher.close();
            clearTimeout(watchdog);
            resolve();
            return;
          }
          start = process.hrtime.bigint();
          signalEventFd(ping);
        });
        watcher.start();
      });
    }
    await exited;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    closeFd(ping);
    closeFd(pong);
  }
  return samples;
}

function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  let sum = 0;
  for (const value of sorted) sum += value;
  return { p50: at(0.5), p99: at(0.99), mean: sum / sorted.length, max: sorted[sorted.length - 1] };
}
