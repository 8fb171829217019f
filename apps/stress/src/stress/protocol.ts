/**
 * What the CLI (scenarios) and the fixture processes agree on: handler ids,
 * configurations passed on the command line, and the outcome codes of the
 * load generators. Fixtures speak JSON lines on stdout and read JSON lines on stdin.
 */
import type { IpcServerOptions } from '@phoenix-ipc/server';

/** Environment variable carrying the run tag of every process the stress tool starts (workers inherit it). */
export const RUN_ENV = 'PHOENIX_STRESS_RUN';
/** The pid a fixture expects as its parent (it exits at once otherwise; it also dies with it). */
export const PARENT_ENV = 'PHOENIX_STRESS_PARENT';

// Handlers of the stress server (registered in every worker).
/** Echoes the payload. */
export const ECHO = 1001;
/** Payload "<id>|<workUs>": busy-waits workUs µs, appends "<id> <incarnation> <epochMs>\n" to the run log, replies "<id>". */
export const LOG = 1002;
/** Busy loop forever (the hang scan must kill it). */
export const HANG = 1003;
/** Payload: ms to busy-wait, then replies "done". */
export const SPIN = 1004;
/** Echo that keeps a 16 KiB allocation forever (the self-test of the leak detector). */
export const LEAK = 1005;
/** Replies "<pid> <group> <index> <incarnation>". */
export const WHO = 1006;

/** An id in a LOG request ending with this marker is logged twice (self-test of the duplicate detector). */
export const DUPLICATE_MARKER = '!dup';

export interface LoadConfig {
  /** Prefix of every id this caller sends ("s" for the supervisor, "c0", "c1", ... for clients). */
  tag: string;
  /** Calls in flight at once. */
  lanes: number;
  /** 'log': LOG calls with unique ids (exactly-once accounting); 'echo': ECHO with a checked payload. */
  kind: 'log' | 'echo';
  /** Share of calls sent with Priority.High. */
  highShare: number;
  /** LOG: each call busy-waits a random 0..workUsMax µs in the worker. */
  workUsMax: number;
  /** 'echo': the handler to call (default ECHO; LEAK for the leak self-test). */
  echoFuncId?: number;
  /** ECHO: payload bytes, random in [min, max]. */
  payloadMin: number;
  payloadMax: number;
  /** Per-call timeout; 0 = none (a lost reply then shows as a call that never settles). */
  timeoutMs: number;
  seed: number;
  /** Where the per-call outcome bytes are written on stop (OUTCOME_*), if anywhere. */
  outcomePath?: string;
  /** Put the send time in each id (supervisor restarts: "<tag>.<seq>@<epochMs>"). */
  stampIds?: boolean;
  /** Calls per second per caller (0 = as fast as the lanes go). */
  rate?: number;
  /** Self-test: one request is marked to be logged twice. */
  selfTestDuplicate?: boolean;
}

export const OUTCOME_PENDING = 0;
export const OUTCOME_OK = 1;
export const OUTCOME_CRASHED = 2;
export const OUTCOME_ERROR = 3;
export const OUTCOME_MISMATCH = 4;

export interface LoadTally {
  sent: number;
  ok: number;
  crashed: number;
  mismatched: number;
  pending: number;
  errors: Record<string, number>;
  /** Seq ids of the calls that failed with ERR_PHOENIX_WORKER_CRASHED. */
  crashedSeqIds: number[];
  /** Largest gap between two successful replies (ms), after the first. */
  maxGapMs: number;
  /** Round-trip latency of successful calls, µs: p50, p99, max. */
  latencyUs: { p50: number; p99: number; max: number };
}

/** A tally with nothing counted yet. */
export function emptyTally(): LoadTally {
  return {
    sent: 0,
    ok: 0,
    crashed: 0,
    mismatched: 0,
    pending: 0,
    errors: {},
    crashedSeqIds: [],
    maxGapMs: 0,
    latencyUs: { p50: 0, p99: 0, max: 0 },
  };
}

export interface ChaosConfig {
  /** A random worker is SIGKILLed every minMs..maxMs. */
  minMs: number;
  maxMs: number;
  seed: number;
}

export interface ServerConfig {
  name: string;
  options: IpcServerOptions;
  /** Which supervisor of the scenario this is (1, 2, ...): workers log it. */
  incarnation: number;
  logPath?: string;
  /** Load from the supervisor's own slot. */
  load?: LoadConfig;
  chaos?: ChaosConfig;
}

export type ClientMode = 'load' | 'churn' | 'probe' | 'bench' | 'hang' | 'idle';

export interface ClientConfig {
  name: string;
  mode: ClientMode;
  connectTimeoutMs: number;
  load?: LoadConfig;
  /** 'load': reconnect after ERR_PHOENIX_SERVER_GONE (supervisor restarts). */
  reconnect?: boolean;
  /** 'churn': fire this many slow calls after connecting, then wait to be killed. */
  churnCalls?: number;
  /** 'bench': sequential round trips for seqMs, then pipelined calls with `inFlight` for pipeMs. */
  bench?: { seqMs: number; pipeMs: number; inFlight: number; payloadBytes: number; selfTestWrongReply?: boolean };
  waitStrategy?: 'adaptive' | 'spin' | 'block';
  /** 'idle': make this many echo calls (half sequential, half 64 in flight), say {"idle":...}, then stay connected. */
  idleCalls?: number;
}

export interface RingPeerConfig {
  segment: string;
  role: 'producer' | 'consumer';
  seed: number;
  maxMessageSize: number;
  /** Producer: how long to produce, from the moment the consumer is ready. */
  durationMs: number;
  /** Producer self-test: send one message twice. */
  selfTestDuplicate?: boolean;
}

export interface HostileConfig {
  segment: string;
  seed: number;
  /** How long to write garbage, from the moment it has mapped the segment. */
  durationMs: number;
}
