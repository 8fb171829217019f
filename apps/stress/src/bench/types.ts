/** Result shapes shared by the orchestrator (bench-main), the runners and the PhoenixIPC server peer. */

/** Round-trip latency of sequential calls, in microseconds, and CPU per call of each side. */
export interface LatencyResult {
  calls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  /** CPU microseconds per call in the caller's process (both sides for thread peers). */
  callerCpuUs: number;
  /** CPU microseconds per call in the peer's processes; null when the peer is a thread of the caller. */
  peerCpuUs: number | null;
  /** Minor page faults per call in the caller's process (process.resourceUsage()); absent where not measured. */
  callerMinorFaults?: number;
  /** ... in the peer's processes (/proc/<pid>/stat minflt); null for thread peers. */
  peerMinorFaults?: number | null;
}

/** Many calls in flight: calls per second and payload bytes per second (one direction). */
export interface ThroughputResult {
  calls: number;
  inFlight: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
  callerCpuUs: number;
  peerCpuUs: number | null;
}

export interface SizeResult {
  payloadBytes: number;
  latency: LatencyResult;
  /** The same ping-pong through callInto (the reply copied into one reused buffer), where the transport has it. */
  latencyInto?: LatencyResult;
  throughput: ThroughputResult;
  /** The same pipelined phase through the transport's send() (PhoenixIPC's sendInto: no promise per call), where it has one. */
  throughputSend?: ThroughputResult;
}

/** CPU of every process of a connected, idle pair, as a percentage of one core. */
export interface IdleResult {
  windowMs: number;
  percentOfCore: number;
  processes: number;
  /** Each process's share ('caller' is the calling process; threads peers are in it). */
  breakdown: { role: string; pid: number; percentOfCore: number }[];
}

export interface TransportResult {
  id: string;
  label: string;
  /** 'thread' peers live in the caller's process (reference, not a process-to-process figure). */
  kind: 'process' | 'thread';
  sizes: SizeResult[];
  idle: IdleResult | null;
  /** Replies compared byte for byte with their request (every one of them). */
  verified: number;
  durationMs: number;
}

/** How long each phase runs; a phase ends at whichever limit comes first. */
export interface PhasePlan {
  warmupCalls: number;
  warmupMs: number;
  maxCalls: number;
  maxMs: number;
}

export interface RunPlan {
  sizes: number[];
  latency: PhasePlan;
  throughput: PhasePlan;
  inFlight: number;
  /** 0 skips the idle measurement. */
  idleMs: number;
}

/** RSS of one process from /proc/<pid>/status, in KiB. */
export interface RssSample {
  pid: number;
  rssKiB: number;
  anonKiB: number;
  shmemKiB: number;
}
