/**
 * The caller's garbage, GCs and page faults per call, against a supervisor +
 * 1 echo worker (adaptive), outside the bench's orchestration:
 *
 *   PHOENIX_BENCH_DIST=apps/stress/dist node --expose-gc \
 *     apps/stress/dist/bench/peers/caller-probe.js [calls] [call|into|send] [sizeBytes] [liveHeapMB]
 *
 *   pipelined 1:1 x64 (closed loop)   client ══64 requests══▶ worker
 *                                     each completion issues the next call
 *
 * Prints, for the measured window after a warm-up: scavenges and mark-sweeps
 * per 100 k calls, heap used before/after, bytes allocated per call (heap
 * growth over a window with no GC; run with --min-semi-space-size=256 so that
 * the window fits in the young generation), caller minor page faults per call.
 * Every reply is verified.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { IpcClient, type Reply, type WaitStrategy } from '@phoenix-ipc/client';
import { statSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import { SEGMENT_PREFIX } from '../cleanup.js';
import { CPU_PROFILE_FUNC_ID, CpuProfiler } from '../cpu-profiler.js';
import { ECHO_FUNC_ID } from '../echo-handler.js';
import { HEAP_SAMPLE_FUNC_ID, HeapSampler } from '../heap-sampler.js';
import { PayloadPool } from '../payload.js';
import { minorFaultsOf } from '../proc.js';
import { PhoenixServerProcess } from '../transports/phoenix.js';

const calls = Number(process.argv[2] ?? 500_000);
const mode = (process.argv[3] ?? 'call') as 'call' | 'into' | 'send';
const size = Number(process.argv[4] ?? 16);
const liveHeapMb = Number(process.argv[5] ?? 0);
// PROBE_IN_FLIGHT: calls in flight (default: 1 from 16 KiB up, else 64).
const IN_FLIGHT = Number(process.env.PROBE_IN_FLIGHT ?? (size >= 16384 ? 1 : 64));
if (!Number.isInteger(IN_FLIGHT) || IN_FLIGHT < 1) throw new Error('PROBE_IN_FLIGHT must be a whole number from 1');
const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error('run with --expose-gc');

// Named like the bench's own segments: a later bench run unlinks it if this process died without doing so.
const name = `/${SEGMENT_PREFIX}probe`;
const strategy = (process.env.PROBE_STRATEGY ?? 'adaptive') as WaitStrategy;
// PROBE_WORKERS: echo workers behind the supervisor (1 by default).
const workers = Number(process.env.PROBE_WORKERS ?? 1);
// The worker's profile is started and stopped by two calls, which must reach the same worker.
if (process.env.PROBE_WORKER_CPU_PROF !== undefined && workers !== 1)
  throw new Error('PROBE_WORKER_CPU_PROF needs PROBE_WORKERS=1');
// PROBE_DEFAULT_TIMEOUT_MS: the client's default call timeout (0: none), to see what deadlines cost.
const timeoutEnv = process.env.PROBE_DEFAULT_TIMEOUT_MS;
// Made (and its options checked) before the server starts: nothing to clean up if they are wrong.
const client = IpcClient.create(name, {
  waitStrategy: strategy,
  ...(timeoutEnv === undefined ? {} : { defaultTimeoutMs: Number(timeoutEnv) }),
});
const server = await PhoenixServerProcess.start({ name, workers, waitStrategy: strategy, maxClients: 2 });
// The last resort (an exit that skips the finally below): the segment goes with the process.
process.on('exit', () => {
  if (statSegment(name).exists) unlinkSegment(name);
});
// Ctrl-C or kill: exit through the handler above (the server child gets SIGKILL as its parent dies).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(1));
// Whatever happens below, the server stops and its segment goes.
try {
  await client.connect(10_000);

  // A live application heap: small objects that survive the whole run.
  const live: { a: number; b: string }[] = [];
  for (let i = 0; liveHeapMb > 0 && i < liveHeapMb * 16_000; i++) live.push({ a: i, b: `x${i}` });

  const pool = new PayloadPool(size, IN_FLIGHT);
  const targets = Array.from({ length: IN_FLIGHT }, () => Buffer.allocUnsafeSlow(size));

  /** Closed loop: IN_FLIGHT chains, each issues its next call when its reply came. */
  function run(count: number): Promise<void> {
    if (mode === 'send') return runSend(count);
    return new Promise((resolve, reject) => {
      let issued = 0;
      let done = 0;
      const chain = async (slot: number) => {
        while (issued < count) {
          issued++;
          const payload = pool.stamp(slot, issued);
          const reply =
            mode === 'into'
              ? await client.callInto(ECHO_FUNC_ID, payload, targets[slot]!)
              : await client.callAsync(ECHO_FUNC_ID, payload);
          if (!pool.verify(slot, reply.payload)) throw new Error('reply differs from its request');
        }
        if (++done === IN_FLIGHT) resolve();
      };
      for (let slot = 0; slot < IN_FLIGHT; slot++) chain(slot).catch(reject);
    });
  }

  /** The same closed loop with sendInto: a handler object per chain, no promise per call. */
  function runSend(count: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let issued = 0;
      let done = 0;
      for (let slot = 0; slot < IN_FLIGHT; slot++) {
        const target = targets[slot]!;
        const next = () => {
          if (issued < count) client.sendInto(ECHO_FUNC_ID, pool.stamp(slot, ++issued), target, handler);
          else if (++done === IN_FLIGHT) resolve();
        };
        const handler = {
          onReply: (reply: Reply) => {
            if (pool.verify(slot, reply.payload)) next();
            else reject(new Error('reply differs from its request'));
          },
          onError: reject,
        };
        next();
      }
    });
  }

  let scavenges = 0;
  let majors = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === 1) scavenges++;
      else majors++;
    }
  });

  // PROBE_SEQUENTIAL_MS: one call at a time for this long first (the bench's latency phase before its pipelined rows).
  const sequentialMs = Number(process.env.PROBE_SEQUENTIAL_MS ?? 0);
  for (let i = 0, t = performance.now(); performance.now() - t < sequentialMs; i++) {
    const reply = await client.callAsync(ECHO_FUNC_ID, pool.stamp(0, i));
    if (!pool.verify(0, reply.payload)) throw new Error('reply differs from its request');
  }
  await run(Math.min(200_000, calls));
  collect();
  observer.observe({ entryTypes: ['gc'] });
  // PROBE_HEAP_PROF=1: sample every allocation site of the run (garbage included), here and in the worker.
  const sampler = process.env.PROBE_HEAP_PROF === '1' ? new HeapSampler() : null;
  if (sampler !== null) {
    await sampler.start();
    await client.callAsync(HEAP_SAMPLE_FUNC_ID, 'start');
  }
  // PROBE_CPU_PROF=<file>: a CPU profile of this process alone over the run; PROBE_WORKER_CPU_PROF=<file>:
  // the worker's alone. See cpu-profiler.ts for why not node --cpu-prof.
  const callerProfile = process.env.PROBE_CPU_PROF;
  const workerProfile = process.env.PROBE_WORKER_CPU_PROF;
  const profiler = callerProfile === undefined ? null : new CpuProfiler();
  await profiler?.start();
  if (workerProfile !== undefined) await client.callAsync(CPU_PROFILE_FUNC_ID, 'start');
  const heap0 = process.memoryUsage().heapUsed;
  const faults0 = process.resourceUsage().minorPageFault;
  const peerFaults0 = server.peers.map((peer) => minorFaultsOf(peer.pid));
  const t0 = performance.now();
  await run(calls);
  const seconds = (performance.now() - t0) / 1000;
  await profiler?.stop(callerProfile!);
  if (workerProfile !== undefined) await client.callAsync(CPU_PROFILE_FUNC_ID, `stop ${workerProfile}`);
  if (sampler !== null) {
    process.stdout.write(`caller:\n${await sampler.stop(calls)}`);
    const worker = await client.callAsync(HEAP_SAMPLE_FUNC_ID, `stop ${calls}`);
    process.stdout.write(`worker:\n${worker.payload.toString()}`);
  }
  const faults = process.resourceUsage().minorPageFault - faults0;
  const peerFaults = server.peers
    .map((peer, i) => `${peer.role} ${((minorFaultsOf(peer.pid) - peerFaults0[i]!) / calls).toFixed(3)}`)
    .join(', ');
  const heap1 = process.memoryUsage().heapUsed;
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const runScavenges = scavenges;
  const runMajors = majors;
  // Bytes per call: a short window that fits in the young generation (no GC in it).
  collect();
  const gcBefore = scavenges + majors;
  observer.observe({ entryTypes: ['gc'] });
  const small = Math.min(20_000, calls);
  const h0 = process.memoryUsage().heapUsed;
  await run(small);
  const h1 = process.memoryUsage().heapUsed;
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  const clean = scavenges + majors === gcBefore;
  pool.assertClean('probe');
  const per100k = (n: number) => ((n / calls) * 100_000).toFixed(2);
  process.stdout.write(
    `${mode} ${size} B x${IN_FLIGHT}${liveHeapMb > 0 ? `, live heap ${liveHeapMb} MB (${live.length} objects)` : ''}: ` +
      `${calls} calls in ${seconds.toFixed(2)} s (${Math.round(calls / seconds / 1000)} k/s); ` +
      `scavenges/100k ${per100k(runScavenges)}, major/100k ${per100k(runMajors)}; ` +
      `heap ${(heap0 / 2 ** 20).toFixed(1)} -> ${(heap1 / 2 ** 20).toFixed(1)} MiB; ` +
      `minor faults/call ${(faults / calls).toFixed(3)} (${peerFaults}); ` +
      `allocated ${clean ? `${((h1 - h0) / small).toFixed(0)} B/call` : 'n/a (a GC ran in the window; raise --min-semi-space-size)'}; ` +
      `${pool.verified} replies verified\n`,
  );
} finally {
  await client.disconnect();
  await server.stop();
}
process.exit(0);
