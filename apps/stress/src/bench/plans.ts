/** How much each bench job measures: the full run's plans and the --quick smoke's. */
import type { BenchOptions } from './options.js';
import type { ServiceBenchPlan } from './service-bench.js';
import type { StrategyPairPlan } from './strategy-pair.js';
import type { RunPlan } from './types.js';

/** Calls in flight per client in the pipelined rows. */
export const IN_FLIGHT = 64;
export const SIZES = [16, 1024, 64 * 1024];
/** NATS round trips take ~0.3 ms: 20 rounds of 300 calls each side is about 4 s of calls. */
export const NATS_PAIR_PLAN = { rounds: 20, callsPerRound: 300 };
export const NATS_PAIR_QUICK_PLAN = { rounds: 2, callsPerRound: 50 };
/** Rounds of 1 client × 1 worker then 4 clients × 2 workers whose median ratio the #16 scaling target judges. */
export const SCALING_ROUNDS = 5;
export const STRATEGY_PAIR_PLAN = {
  sizes: [16, 1024, 64 * 1024],
  inFlight: 64,
  rounds: 8,
  roundMs: 250,
  warmupMs: 100,
  forkSizes: [16],
  emptySizes: [16],
  concurrencySizes: [16],
};
export const STRATEGY_PAIR_QUICK_PLAN = {
  sizes: [16],
  inFlight: 64,
  rounds: 1,
  roundMs: 50,
  warmupMs: 0,
  forkSizes: [16],
  emptySizes: [16],
  concurrencySizes: [16],
};
/** The live application heap of the live-heap phase (issue 16: "for example 200 MB of small objects"). */
export const LIVE_HEAP_MB = 200;
/** live-heap-pair: the strategy pair's rounds in a client with a history (sequential phase, then a live heap). */
export const LIVE_HEAP_PAIR_PLAN: StrategyPairPlan = {
  sizes: [16, 1024, 64 * 1024],
  inFlight: 64,
  rounds: 6,
  roundMs: 250,
  warmupMs: 100,
  forkSizes: [],
  emptySizes: [],
  concurrencySizes: [],
  history: {
    sequential: { warmupCalls: 0, warmupMs: 0, maxCalls: Number.MAX_SAFE_INTEGER, maxMs: 1200 },
    liveHeapMb: LIVE_HEAP_MB,
  },
};
export const LIVE_HEAP_PAIR_QUICK_PLAN: StrategyPairPlan = {
  ...STRATEGY_PAIR_QUICK_PLAN,
  forkSizes: [],
  emptySizes: [],
  concurrencySizes: [],
  history: { sequential: { warmupCalls: 0, warmupMs: 0, maxCalls: 200, maxMs: 10_000 }, liveHeapMb: 8 },
};
export const LATENCY_PAIR_PLAN = {
  rounds: 8,
  warmupMs: 100,
  warmupCalls: 1000,
  roundMs: 300,
  maxCalls: 10_000_000,
};
export const LATENCY_PAIR_QUICK_PLAN = {
  rounds: 1,
  warmupMs: 0,
  warmupCalls: 20,
  roundMs: 10_000,
  maxCalls: 200,
};
export const MILLION = 1_000_000;

export function plans(options: BenchOptions): { plan: (spins: boolean, id: string) => RunPlan; jobTimeoutMs: number } {
  if (options.quick) {
    const plan: RunPlan = {
      sizes: SIZES,
      latency: { warmupCalls: 50, warmupMs: 0, maxCalls: 200, maxMs: 10_000 },
      throughput: { warmupCalls: 64, warmupMs: 0, maxCalls: 300, maxMs: 10_000 },
      inFlight: IN_FLIGHT,
      idleMs: 200,
    };
    return { plan: () => plan, jobTimeoutMs: 60_000 };
  }
  return {
    plan: (spins, id) => ({
      sizes: SIZES,
      latency: { warmupCalls: 200, warmupMs: 300, maxCalls: 200_000, maxMs: 1000 },
      throughput: { warmupCalls: 200, warmupMs: 200, maxCalls: 10_000_000, maxMs: 1000 },
      inFlight: IN_FLIGHT,
      // The idle target is judged over 5 s; spinning pairs burn a core while idle, so theirs is short.
      idleMs: spins ? 1000 : id === 'phoenix-client-adaptive' || id === 'phoenix-client-block' ? 5000 : 2000,
    }),
    jobTimeoutMs: 180_000,
  };
}

export function servicePlan(options: BenchOptions): ServiceBenchPlan {
  return options.quick
    ? {
        rounds: 1,
        warmupCalls: 64,
        latencyCalls: 200,
        inFlight: IN_FLIGHT,
        throughputMaxCalls: 300,
        throughputMaxMs: 10_000,
        codecIterations: 200,
      }
    : {
        rounds: 15,
        warmupCalls: 300,
        latencyCalls: 3000,
        inFlight: IN_FLIGHT,
        throughputMaxCalls: 10_000_000,
        throughputMaxMs: 150,
        codecIterations: 100_000,
      };
}
