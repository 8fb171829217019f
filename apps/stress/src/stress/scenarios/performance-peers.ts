// PerformanceBenchmark.peers: the peer comparison in short (issue 7: "`pnpm
// bench`; also `pnpm stress --filter 'PerformanceBenchmark.*'`"). PhoenixIPC
// and the IPC a Node user picks today, each in a fresh runner process of the
// benchmark (bench/run-job.ts), measured the same way in the same run: 16 B
// sequential round trips, then 64 calls in flight. Every reply is compared
// with its request. `pnpm bench` is the full comparison, with the targets.
import { runInRunner } from '../../bench/run-job.js';
import type { TransportResult } from '../../bench/types.js';
import { check, formatCount, type Scenario, type ScenarioContext, type ScenarioResult, zero } from '../scenario.js';

/** The reference first; thread peers share the caller's process (a reference, not process-to-process). */
const TRANSPORTS = ['phoenix-client-adaptive', 'fork-json', 'unix-socket', 'worker-threads'] as const;
const PAYLOAD_BYTES = 16;
const IN_FLIGHT = 64;
/** A runner that has not answered in this long is stuck: the scenario fails rather than hang. */
const JOB_TIMEOUT_MS = 120_000;

interface PeerFigures {
  roundTrips: number;
  p50Us: number;
  p99Us: number;
  callsPerSecond: number;
  verified: number;
}

function figuresOf(result: TransportResult): PeerFigures {
  const size = result.sizes.find((entry) => entry.payloadBytes === PAYLOAD_BYTES)!;
  return {
    roundTrips: size.latency.calls,
    p50Us: size.latency.p50Us,
    p99Us: size.latency.p99Us,
    callsPerSecond: Math.round(size.throughput.msgsPerSec),
    verified: result.verified,
  };
}

async function runPeers(context: ScenarioContext): Promise<ScenarioResult> {
  // Each transport gets an equal share: a round-trip phase and a pipelined one.
  const phaseMs = Math.max(100, Math.round(context.durationMs / (TRANSPORTS.length * 2.5)));
  const phase = { warmupCalls: 200, warmupMs: Math.min(200, phaseMs), maxCalls: 10_000_000, maxMs: phaseMs };
  const figures: Record<string, PeerFigures> = {};
  let failed = 0;
  const reasons: string[] = [];
  for (const [index, transport] of TRANSPORTS.entries()) {
    context.checkAborted();
    context.progress(index / TRANSPORTS.length, transport);
    try {
      const { outcome } = await runInRunner(
        {
          kind: 'transport',
          transport,
          plan: { sizes: [PAYLOAD_BYTES], latency: phase, throughput: phase, inFlight: IN_FLIGHT, idleMs: 0 },
          segment: context.segmentName('pp'),
          nativeBinary: '',
          workDir: context.tempDir,
        },
        JOB_TIMEOUT_MS,
        [],
        undefined,
        context.signal,
      );
      if (outcome.kind !== 'transport') throw new Error(`unexpected ${outcome.kind} result`);
      figures[transport] = figuresOf(outcome.result);
    } catch (error) {
      // A wrong reply, a failed call or a stuck peer ends its runner with the reason.
      failed++;
      reasons.push(`${transport}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const phoenix = figures['phoenix-client-adaptive'];
  const fork = figures['fork-json'];
  // Hidden self-test: a peer that beats PhoenixIPC must fail the comparison.
  const phoenixP50 = context.selfTestFail && fork !== undefined ? fork.p50Us * 2 : phoenix?.p50Us;
  const lowerThanFork = phoenixP50 !== undefined && fork !== undefined && phoenixP50 < fork.p50Us;
  const fasterThanFork = phoenix !== undefined && fork !== undefined && phoenix.callsPerSecond > fork.callsPerSecond;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b === 0 ? null : Math.round((a / b) * 10) / 10;
  return {
    metrics: {
      payloadBytes: PAYLOAD_BYTES,
      // PhoenixIPC's own figures, in the shape of PerformanceBenchmark.phoenixEcho's.
      sequential: {
        calls: phoenix?.roundTrips ?? 0,
        latencyUs: { p50: phoenix?.p50Us ?? 0, p99: phoenix?.p99Us ?? 0 },
      },
      pipelined: { inFlight: IN_FLIGHT, callsPerSecond: phoenix?.callsPerSecond ?? 0 },
      peers: Object.fromEntries(Object.entries(figures).map(([id, value]) => [id, { ...value }])),
      forkOverPhoenixP50: ratio(fork?.p50Us, phoenix?.p50Us),
      phoenixOverForkCallsPerSecond: ratio(phoenix?.callsPerSecond, fork?.callsPerSecond),
      errors: failed,
      failures: reasons,
    },
    checks: [
      zero('transports that failed (an error, a wrong reply or a timeout)', failed),
      check(
        'PhoenixIPC 16 B round trip p50 below fork IPC json',
        lowerThanFork,
        { phoenix: phoenixP50 ?? null, fork: fork?.p50Us ?? null },
        'phoenix < fork (µs)',
      ),
      check(
        'PhoenixIPC pipelined x64 calls/s above fork IPC json',
        fasterThanFork,
        { phoenix: phoenix?.callsPerSecond ?? null, fork: fork?.callsPerSecond ?? null },
        'phoenix > fork (calls/s)',
      ),
    ],
    // Why a transport failed, printed after the table.
    ...(reasons.length > 0 ? { details: reasons } : {}),
    summary: TRANSPORTS.map((id) => {
      const entry = figures[id];
      return entry === undefined
        ? `${id} failed`
        : `${id} p50 ${entry.p50Us.toFixed(2)} µs, ${formatCount(entry.callsPerSecond)} calls/s`;
    }).join('; '),
  };
}

export const performancePeerScenarios: Scenario[] = [
  {
    name: 'PerformanceBenchmark.peers',
    description:
      'PhoenixIPC against fork IPC, a Unix socket and worker_threads: 16 B round trips, then 64 in flight, each in a fresh process',
    defaultDurationMs: 10_000,
    run: runPeers,
  },
];
