import type { LatencyPairPlan, LatencyPairResult } from './latency-pair.js';
import type { NatsPairPlan, NatsPairResult } from './nats-pair.js';
import type { ServiceBenchPlan, ServiceBenchResult } from './service-bench.js';
import type { StrategyPairPlan, StrategyPairResult } from './strategy-pair.js';
import type { LatencyResult, PhasePlan, RssSample, RunPlan, ThroughputResult, TransportResult } from './types.js';

/** What the orchestrator (bench-main) asks a runner process to do. */
export type Job =
  | {
      kind: 'transport';
      transport: string;
      plan: RunPlan;
      /** PhoenixIPC segment name for this job. */
      segment: string;
      /** Compiled C program (c-* transports). */
      nativeBinary: string;
      workDir: string;
    }
  | { kind: 'million'; segment: string; calls: number; payloadBytes: number; inFlight: number; api: MillionApi }
  | {
      kind: 'scaling';
      segment: string;
      workers: number;
      callers: number;
      payloadBytes: number;
      inFlight: number;
      warmupMs: number;
      durationMs: number;
      maxCalls: number;
    }
  | {
      /** The typed service (@phoenix-ipc/service) against raw calls, and the codecs (bench/service-bench). */
      kind: 'service';
      segment: string;
      plan: ServiceBenchPlan;
    }
  | {
      /**
       * The pipelined rows in a client with a history: a sequential phase
       * first, then a live application heap of `liveHeapMb` MB of small objects.
       */
      kind: 'live-heap';
      segment: string;
      strategy: 'adaptive' | 'block';
      sequential: PhasePlan;
      liveHeapMb: number;
      sizes: number[];
      inFlight: number;
      throughput: PhasePlan;
      /** The sequential big-reply phase after the rows (callInto, then call). */
      bigReplyBytes: number;
      bigReply: PhasePlan;
    }
  | {
      /** The plain NATS echo and the bridge side by side, in alternating rounds (bench/nats-pair). */
      kind: 'nats-pair';
      segment: string;
      plan: NatsPairPlan;
    }
  | {
      /** Adaptive and block pipelined side by side, in alternating rounds (bench/strategy-pair). */
      kind: 'strategy-pair';
      segment: string;
      plan: StrategyPairPlan;
    }
  | {
      /** PhoenixIPC's round trips and the raw JS and C spin limits, in alternating rounds (bench/latency-pair). */
      kind: 'latency-pair';
      segment: string;
      /** The C pair's binary ('' if it could not be built: the 64 KiB rounds then have no C side). */
      nativeBinary: string;
      workDir: string;
      plan: LatencyPairPlan;
    }
  | {
      /** One client process of a scaling job (started by the scaling runner). */
      kind: 'load';
      segment: string;
      payloadBytes: number;
      inFlight: number;
      warmupMs: number;
      durationMs: number;
      maxCalls: number;
    };

export interface GcSummary {
  count: number;
  /** Scavenges (young generation). */
  minor: number;
  /** Mark-sweep-compact (full). */
  major: number;
  incremental: number;
  other: number;
  pauseMs: number;
}

/** The call API of a one-million-call run: handlers (no promise per call) or promises. */
export type MillionApi = 'sendInto' | 'callAsync';

export interface MillionResult {
  api: MillionApi;
  calls: number;
  payloadBytes: number;
  inFlight: number;
  seconds: number;
  msgsPerSec: number;
  verified: number;
  /** The caller's GCs during the run. */
  gc: GcSummary;
  /** The worker's GCs during the run (it counts them itself: gc-counter.ts). */
  workerGc: GcSummary;
  caller: {
    heapUsedBefore: number;
    heapUsedAfter: number;
    /** After a forced full GC (the runner runs with --expose-gc): what the run really kept. */
    heapUsedAfterGc: number;
    rssBefore: number;
    rssAfter: number;
  };
  atRest: { client: RssSample; supervisor: RssSample; workers: RssSample[] };
  afterRun: { client: RssSample; supervisor: RssSample; workers: (RssSample & { processed: number })[] };
}

export interface LiveHeapResult {
  strategy: 'adaptive' | 'block';
  sequential: LatencyResult;
  /** Heap used once the live objects were made (after a full GC), and how many there are. */
  liveHeapBytes: number;
  liveObjects: number;
  /** Per size: callAsync (its GCs counted), then the same phase through sendInto. */
  rows: { payloadBytes: number; throughput: ThroughputResult; gc: GcSummary; throughputSend: ThroughputResult }[];
  /** Sequential big replies after the rows: into one kept buffer, then a fresh Buffer each (GCs counted). */
  bigReplies: { api: 'call' | 'callInto'; payloadBytes: number; latency: LatencyResult; gc: GcSummary }[];
  verified: number;
}

export interface ScalingResult {
  workers: number;
  callers: number;
  payloadBytes: number;
  inFlight: number;
  msgsPerSec: number;
  perCaller: ThroughputResult[];
  /** Calls each worker served during the whole job (warm-up included). */
  processedPerWorker: number[];
  /** CPU per call in the measured windows, µs: all client processes together, and all workers together. */
  clientCpuUs: number;
  workerCpuUs: number;
  verified: number;
  /** Set for the alternating rounds that pair 1 × 1 with 4 × 2 (bench-main: SCALING_ROUNDS). */
  round?: number;
}

export type JobResult =
  | { kind: 'transport'; result: TransportResult }
  | { kind: 'million'; result: MillionResult }
  | { kind: 'scaling'; result: ScalingResult }
  | { kind: 'live-heap'; result: LiveHeapResult }
  | { kind: 'load'; result: ThroughputResult & { verified: number } }
  | { kind: 'service'; result: ServiceBenchResult }
  | { kind: 'nats-pair'; result: NatsPairResult }
  | { kind: 'strategy-pair'; result: StrategyPairResult }
  | { kind: 'latency-pair'; result: LatencyPairResult };

/** Runner → parent messages. */
export type RunnerMessage =
  | { t: 'ready' }
  | { t: 'warm' }
  | { t: 'done'; outcome: JobResult }
  | { t: 'error'; message: string };

/** Parent → runner messages. */
export type RunnerCommand = { t: 'job'; job: Job } | { t: 'go' };
