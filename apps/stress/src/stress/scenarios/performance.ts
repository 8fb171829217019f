// PerformanceBenchmark.*: a short latency and throughput run of PhoenixIPC
// alone (the peer benchmark is phoenix-bench): sequential round trips of a
// 16-byte echo from a client process, then pipelined calls with 64 in flight.
import { check, formatCount, type Scenario, type ScenarioContext, type ScenarioResult, zero } from '../scenario.js';
import type { Summary } from '../stats.js';
import { COMPACT, startClient, startServer, stopServer, workerPidsOf } from './common.js';

interface BenchResult {
  sequential: { calls: number; latencyUs: Summary };
  pipelined: { calls: number; inFlight: number; callsPerSecond: number; latencyUs: Summary };
  errors: number;
  mismatched: number;
}

async function runPerformance(context: ScenarioContext): Promise<ScenarioResult> {
  const name = context.segmentName('pb');
  const server = await startServer(context, 'supervisor', {
    name,
    incarnation: 1,
    options: { ...COMPACT, normalWorkers: 1, vipWorkers: 0, maxClients: 2 },
  });
  const seqMs = Math.max(300, Math.round(context.durationMs * 0.45));
  const pipeMs = Math.max(300, Math.round(context.durationMs * 0.45));
  const client = await startClient(context, 'bench client', {
    name,
    mode: 'bench',
    connectTimeoutMs: 10_000,
    bench: { seqMs, pipeMs, inFlight: 64, payloadBytes: 16, selfTestWrongReply: context.selfTestFail },
  });
  const started = Date.now();
  const ticker = setInterval(() => {
    const elapsed = Date.now() - started;
    context.progress(
      elapsed / (seqMs + pipeMs),
      elapsed < seqMs ? 'sequential round trips' : 'pipelined, 64 in flight',
    );
  }, 250);
  let result: BenchResult;
  try {
    result = (await client.waitFor('bench', seqMs + pipeMs + 60_000)).bench as BenchResult;
  } finally {
    clearInterval(ticker);
  }
  const stop = await stopServer(server.process, name, workerPidsOf(server.process));
  await Promise.race([client.exited, context.sleep(5000)]);
  const seq = result.sequential.latencyUs;
  const pipe = result.pipelined;
  return {
    metrics: {
      payloadBytes: 16,
      workers: 1,
      sequential: { calls: result.sequential.calls, latencyUs: { ...seq } },
      pipelined: {
        calls: pipe.calls,
        inFlight: pipe.inFlight,
        callsPerSecond: pipe.callsPerSecond,
        latencyUs: { ...pipe.latencyUs },
      },
      errors: result.errors,
      mismatched: result.mismatched,
      stop: { ...stop },
    },
    checks: [
      check(
        'round trips measured',
        result.sequential.calls > 0 && pipe.calls > 0,
        { sequential: result.sequential.calls, pipelined: pipe.calls },
        '> 0 each',
      ),
      zero('failed calls', result.errors),
      zero('wrong replies', result.mismatched),
      check(
        'clean stop (workers gone, segment unlinked)',
        stop.stopped && stop.workersLeft.length === 0 && !stop.segmentLeft,
        { ...stop },
        'stopped, no worker, no segment',
      ),
    ],
    summary: `16 B round trip p50 ${seq.p50} µs p99 ${seq.p99} µs max ${seq.max} µs (${formatCount(result.sequential.calls)} calls); pipelined x64 ${formatCount(pipe.callsPerSecond)} calls/s`,
  };
}

export const performanceScenarios: Scenario[] = [
  {
    name: 'PerformanceBenchmark.phoenixEcho',
    description: 'PhoenixIPC only: sequential 16 B round trips from a client process, then 64 calls in flight',
    defaultDurationMs: 10_000,
    run: runPerformance,
  },
];
