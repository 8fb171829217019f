/**
 * What a runner process does with its job (peers/runner is the entry). One
 * job per process: every transport starts from a fresh process, and whatever
 * it leaves behind dies with the runner's process group. A little over 400
 * lines on purpose: one function per job kind, each a few dozen lines, side
 * by side so that their phases (warm-up, window, verification) read alike.
 */

import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WaitStrategy } from '@phoenix-ipc/client';
import { IpcClient, type Reply } from '@phoenix-ipc/client';
import { ECHO_FUNC_ID } from './echo-handler.js';
import { GC_STATS_FUNC_ID, gcBetween, observeGc } from './gc-counter.js';
import type {
  GcSummary,
  Job,
  JobResult,
  LiveHeapResult,
  MillionResult,
  RunnerCommand,
  RunnerMessage,
  ScalingResult,
} from './jobs.js';
import { measureLatencyPair } from './latency-pair.js';
import { buildLiveHeap } from './live-heap.js';
import { type EchoTransport, measureTransport, pingPong, pipelined } from './measure.js';
import { measureNative } from './native.js';
import { measureNatsPair } from './nats-pair.js';
import { peerScript } from './paths.js';
import { PayloadPool } from './payload.js';
import { rssOf, totalCpuUs } from './proc.js';
import { runServiceBench } from './service-bench.js';
import { measureStrategyPair } from './strategy-pair.js';
import { forkIpcTransport } from './transports/fork-ipc.js';
import { natsEchoTransport, natsPhoenixTransport } from './transports/nats.js';
import { PhoenixServerProcess, phoenixClientTransport, sendThrough } from './transports/phoenix.js';
import { measureSab } from './transports/sab.js';
import { piscinaTransport, workerThreadsTransport } from './transports/threads.js';
import { unixSocketTransport } from './transports/unix-socket.js';
import { workerpoolTransport } from './transports/workerpool.js';
import type { ThroughputResult, TransportResult } from './types.js';

async function withTransport<R>(
  open: Promise<EchoTransport<R>>,
  job: Job & { kind: 'transport' },
): Promise<TransportResult> {
  const transport = await open;
  try {
    return await measureTransport(transport, job.plan);
  } finally {
    await transport.close();
  }
}

async function runTransport(job: Job & { kind: 'transport' }): Promise<TransportResult> {
  const id = job.transport;
  const strategy = id.slice(id.lastIndexOf('-') + 1) as WaitStrategy;
  if (id.startsWith('phoenix-client-')) return withTransport(phoenixClientTransport(job.segment, strategy), job);
  if (id.startsWith('phoenix-supervisor-')) {
    const server = await PhoenixServerProcess.start({
      name: job.segment,
      workers: 1,
      waitStrategy: strategy,
      maxClients: 1,
    });
    try {
      return await server.bench(job.plan);
    } finally {
      await server.stop();
    }
  }
  switch (id) {
    case 'fork-json':
      return withTransport(forkIpcTransport('json'), job);
    case 'fork-advanced':
      return withTransport(forkIpcTransport('advanced'), job);
    case 'unix-socket':
      return withTransport(unixSocketTransport(), job);
    case 'worker-threads':
      return withTransport(workerThreadsTransport(), job);
    case 'piscina':
      return withTransport(piscinaTransport(), job);
    case 'workerpool':
      return withTransport(workerpoolTransport(), job);
    case 'js-sab-spin':
      return measureSab('spin', job.plan);
    case 'js-sab-wait':
      return measureSab('wait', job.plan);
    case 'c-spin':
      return measureNative(job.nativeBinary, 'spin', job.plan, job.workDir);
    case 'c-eventfd':
      return measureNative(job.nativeBinary, 'eventfd', job.plan, job.workDir);
    case 'nats-echo':
      return withTransport(natsEchoTransport(), job);
    case 'nats-phoenix':
      return withTransport(natsPhoenixTransport(job.segment), job);
    default:
      throw new Error(`unknown transport ${id}`);
  }
}

function clientTransport(client: IpcClient, server: PhoenixServerProcess | null = null): EchoTransport<Reply> {
  return {
    id: 'phoenix-client',
    label: 'PhoenixIPC client→worker',
    kind: 'process',
    peers: () => server?.peers ?? [],
    call: (payload) => client.callAsync(ECHO_FUNC_ID, payload),
    callInto: (payload, target) => client.callInto(ECHO_FUNC_ID, payload, target),
    send: sendThrough(client),
    bytes: (reply) => reply.payload,
    close: () => client.disconnect(),
  };
}

/**
 * pipelined 1:1 x64, one million calls, client→worker, adaptive, through
 * `job.api`: the caller's and the worker's GCs, the caller's heap, and the
 * RSS of every process at rest and afterwards.
 */
async function runMillion(job: Job & { kind: 'million' }): Promise<MillionResult> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('the million-call runner needs --expose-gc');
  const server = await PhoenixServerProcess.start({
    name: job.segment,
    workers: 1,
    waitStrategy: 'adaptive',
    maxClients: 4,
  });
  const client = IpcClient.create(job.segment, { waitStrategy: 'adaptive' });
  try {
    await client.connect(10_000);
    await sleep(300);
    const rest = await server.stats();
    const atRest = { client: rssOf(process.pid), supervisor: rest.supervisor, workers: rest.workers };
    const workerGcBefore = await workerGc(client);
    collect();
    const before = process.memoryUsage();
    const gc = observeGc();
    const run = await pipelined(
      clientTransport(client),
      job.payloadBytes,
      job.inFlight,
      {
        warmupCalls: 0,
        warmupMs: 0,
        maxCalls: job.calls,
        maxMs: Number.POSITIVE_INFINITY,
      },
      job.api === 'sendInto' ? 'send' : 'call',
    );
    const after = process.memoryUsage();
    const gcSummary = await gc.stop();
    collect();
    const afterGc = process.memoryUsage();
    await sleep(300);
    const stats = await server.stats();
    const workerGcDuring = gcBetween(workerGcBefore, await workerGc(client));
    return {
      api: job.api,
      calls: run.calls,
      payloadBytes: job.payloadBytes,
      inFlight: job.inFlight,
      seconds: run.seconds,
      msgsPerSec: run.msgsPerSec,
      verified: run.verified,
      gc: gcSummary,
      workerGc: workerGcDuring,
      caller: {
        heapUsedBefore: before.heapUsed,
        heapUsedAfter: after.heapUsed,
        heapUsedAfterGc: afterGc.heapUsed,
        rssBefore: before.rss,
        rssAfter: after.rss,
      },
      atRest,
      afterRun: { client: rssOf(process.pid), supervisor: stats.supervisor, workers: stats.workers },
    };
  } finally {
    await client.disconnect();
    await server.stop();
  }
}

/** The echo worker's GCs since it started (it answers GC_STATS_FUNC_ID). */
async function workerGc(client: IpcClient): Promise<GcSummary> {
  const reply = await client.callAsync(GC_STATS_FUNC_ID, new Uint8Array(0));
  return JSON.parse(reply.payload.toString()) as GcSummary;
}

/**
 * The pipelined rows in a client that has a history, as applications do:
 *
 *   client (sequential phase, then ~liveHeapMb MB of live small objects)
 *     ══64 requests══▶ worker      pipelined 1:1 x64, closed loop, per size
 *
 * The live objects stay reachable until the rows are done; every reply is verified.
 */
async function runLiveHeap(job: Job & { kind: 'live-heap' }): Promise<LiveHeapResult> {
  const server = await PhoenixServerProcess.start({
    name: job.segment,
    workers: 1,
    waitStrategy: job.strategy,
    maxClients: 2,
  });
  const client = IpcClient.create(job.segment, { waitStrategy: job.strategy });
  try {
    await client.connect(10_000);
    const transport = clientTransport(client, server);
    const pool = new PayloadPool(16, 1);
    const sequential = await pingPong(transport, pool, job.sequential);
    pool.assertClean('live heap, sequential phase');
    let verified = pool.verified;
    const live = buildLiveHeap(job.liveHeapMb);
    const rows: LiveHeapResult['rows'] = [];
    for (const size of job.sizes) {
      const gc = observeGc();
      const { verified: rowVerified, ...throughput } = await pipelined(transport, size, job.inFlight, job.throughput);
      const rowGc = await gc.stop();
      const { verified: sendVerified, ...throughputSend } = await pipelined(
        transport,
        size,
        job.inFlight,
        job.throughput,
        'send',
      );
      rows.push({ payloadBytes: size, throughput, gc: rowGc, throughputSend });
      verified += rowVerified + sendVerified;
    }
    // Big replies one at a time with the heap still live: into one kept buffer first, then a fresh
    // Buffer per reply (what the fresh replies do to V8's collections shows in the second).
    const bigReplies: LiveHeapResult['bigReplies'] = [];
    for (const api of ['callInto', 'call'] as const) {
      const bigPool = new PayloadPool(job.bigReplyBytes, 1);
      const gc = observeGc();
      const into = api === 'callInto' ? Buffer.allocUnsafeSlow(job.bigReplyBytes) : null;
      const latency = await pingPong(transport, bigPool, job.bigReply, into);
      bigReplies.push({ api, payloadBytes: job.bigReplyBytes, latency, gc: await gc.stop() });
      bigPool.assertClean(`live heap, ${api} ${job.bigReplyBytes} B`);
      verified += bigPool.verified;
    }
    return {
      strategy: job.strategy,
      sequential,
      liveHeapBytes: live.bytes,
      liveObjects: live.objects,
      rows,
      bigReplies,
      verified,
    };
  } finally {
    await client.disconnect();
    await server.stop();
  }
}

/** One client process of a scaling job: connect, warm up, wait for 'go', then pipeline for the window. */
async function runLoad(job: Job & { kind: 'load' }): Promise<ThroughputResult & { verified: number }> {
  const client = IpcClient.create(job.segment, { waitStrategy: 'adaptive' });
  await client.connect(10_000);
  try {
    const transport = clientTransport(client);
    const plan = { warmupCalls: 0, warmupMs: 0, maxCalls: Number.POSITIVE_INFINITY, maxMs: job.warmupMs };
    await pipelined(transport, job.payloadBytes, job.inFlight, plan);
    const go = new Promise<void>((resolve) =>
      process.on('message', (command: RunnerCommand) => command.t === 'go' && resolve()),
    );
    send({ t: 'warm' });
    await go;
    return await pipelined(transport, job.payloadBytes, job.inFlight, {
      warmupCalls: 0,
      warmupMs: 0,
      maxCalls: job.maxCalls,
      maxMs: job.durationMs,
    });
  } finally {
    await client.disconnect();
  }
}

/**
 * pipelined W:M x64: M client processes (runners with a 'load' job) against
 * a server with W workers, all started together after their own warm-up.
 *
 *   client 1 ──┐          ┌──▶ worker 1
 *   client 2 ──┼── rings ─┼──▶ worker 2      (least-loaded dispatch per call)
 *   client M ──┘          └──▶ worker W
 */
async function runScaling(job: Job & { kind: 'scaling' }): Promise<ScalingResult> {
  const server = await PhoenixServerProcess.start({
    name: job.segment,
    workers: job.workers,
    waitStrategy: 'adaptive',
    maxClients: Math.max(1, job.callers),
  });
  const children: ReturnType<typeof fork>[] = [];
  try {
    const load: Job = {
      kind: 'load',
      segment: job.segment,
      payloadBytes: job.payloadBytes,
      inFlight: job.inFlight,
      warmupMs: job.warmupMs,
      durationMs: job.durationMs,
      maxCalls: job.maxCalls,
    };
    const results: Promise<ThroughputResult & { verified: number }>[] = [];
    const warm: Promise<void>[] = [];
    for (let i = 0; i < job.callers; i++) {
      const child = fork(peerScript('runner'), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
      });
      children.push(child);
      let onWarm: () => void = () => {};
      warm.push(new Promise<void>((resolve) => (onWarm = resolve)));
      results.push(
        new Promise((resolve, reject) => {
          child.on('message', (message: RunnerMessage) => {
            if (message.t === 'ready') child.send({ t: 'job', job: load } satisfies RunnerCommand);
            else if (message.t === 'warm') onWarm();
            else if (message.t === 'done' && message.outcome.kind === 'load') resolve(message.outcome.result);
            else if (message.t === 'error') reject(new Error(`load client ${i}: ${message.message}`));
          });
          child.once('exit', (code) => reject(new Error(`load client ${i} exited with ${code}`)));
        }),
      );
    }
    await Promise.race([Promise.all(warm), Promise.all(results)]);
    // The workers' CPU over the clients' windows, from the outside: where a scaling loss goes (client or worker side).
    const workerCpu0 = totalCpuUs(server.workerPids);
    for (const child of children) child.send({ t: 'go' } satisfies RunnerCommand);
    const perCaller = await Promise.all(results);
    const workerCpu = totalCpuUs(server.workerPids) - workerCpu0;
    const stats = await server.stats();
    const calls = perCaller.reduce((sum, result) => sum + result.calls, 0);
    return {
      workers: job.workers,
      callers: job.callers,
      payloadBytes: job.payloadBytes,
      inFlight: job.inFlight,
      msgsPerSec: perCaller.reduce((sum, result) => sum + result.msgsPerSec, 0),
      perCaller: perCaller.map(({ verified: _verified, ...result }) => result),
      processedPerWorker: stats.workers.map((worker) => worker.processed),
      clientCpuUs: perCaller.reduce((sum, result) => sum + result.callerCpuUs * result.calls, 0) / calls,
      workerCpuUs: workerCpu / calls,
      verified: perCaller.reduce((sum, result) => sum + result.verified, 0),
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await server.stop();
  }
}

function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

export async function runJob(job: Job): Promise<JobResult> {
  switch (job.kind) {
    case 'transport':
      return { kind: 'transport', result: await runTransport(job) };
    case 'million':
      return { kind: 'million', result: await runMillion(job) };
    case 'scaling':
      return { kind: 'scaling', result: await runScaling(job) };
    case 'live-heap':
      return { kind: 'live-heap', result: await runLiveHeap(job) };
    case 'load':
      return { kind: 'load', result: await runLoad(job) };
    case 'service':
      return { kind: 'service', result: await runServiceBench(job.segment, job.plan) };
    case 'nats-pair':
      return { kind: 'nats-pair', result: await measureNatsPair(job.segment, job.plan) };
    case 'strategy-pair':
      return { kind: 'strategy-pair', result: await measureStrategyPair(job.segment, job.plan) };
    case 'latency-pair':
      return {
        kind: 'latency-pair',
        result: await measureLatencyPair(job.segment, job.nativeBinary, job.workDir, job.plan),
      };
  }
}

/** The runner's main: wait for a job, run it, report, exit. */
export function serveOneJob(): void {
  process.on('message', (command: RunnerCommand) => {
    if (command.t !== 'job') return;
    runJob(command.job).then(
      async (outcome) => {
        await send({ t: 'done', outcome });
        process.exit(0);
      },
      async (error: unknown) => {
        await send({ t: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        process.exit(1);
      },
    );
  });
  process.on('disconnect', () => process.exit(1));
  void send({ t: 'ready' });
}
