/**
 * The round-trip targets of issue 16, judged fairly (job 'latency-pair'):
 * PhoenixIPC's ping-pong and the limits it is held to, taken in short
 * alternating rounds in one runner, so that a slow period of the VM falls on
 * both sides alike:
 *
 *   16 B     PhoenixIPC adaptive `call`  against  the raw JS spin rings (threads)
 *   64 KiB   PhoenixIPC adaptive `call`  against  the C busy-spin pair (processes)
 *
 * The 'js-sab-spin' and 'c-spin' rows run minutes after PhoenixIPC's, and on
 * this machine kind a row's round trip moves by up to 4× from one period to
 * the next (the C pair's 16 B p50: 0.21 µs alone, 0.94 µs in a full run
 * minutes later; docs/benchmarks-history.md). A verdict from two such rows says
 * which period each ran in, not which is faster.
 *
 * The raw JS echo thread and the C echo process busy-poll while they wait, a
 * core each: they are started for their turn and stopped after it, never left
 * spinning through PhoenixIPC's turns. PhoenixIPC's worker parks on its own
 * once its spin budget is spent.
 */

import { BIG_REPLY_BYTES, type EchoTransport, pingPong } from './measure.js';
import { measureNative } from './native.js';
import { PayloadPool } from './payload.js';
import { phoenixClientTransport } from './transports/phoenix.js';
import { measureSab } from './transports/sab.js';
import type { LatencyResult, PhasePlan, RunPlan } from './types.js';

export interface LatencyPairPlan {
  rounds: number;
  /** Each turn's warm-up, then its measured window (whichever of maxCalls and roundMs ends first). */
  warmupMs: number;
  warmupCalls: number;
  roundMs: number;
  maxCalls: number;
}

/** p50 and mean of each recorded round, in µs, in order. */
export interface LatencySeries {
  p50Us: number[];
  meanUs: number[];
}

export interface LatencyPairResult {
  rounds: number;
  phoenix16: LatencySeries;
  rawJs16: LatencySeries;
  phoenixBig: LatencySeries;
  /** Empty when the C pair could not be built. */
  cBig: LatencySeries;
  bigBytes: number;
  verified: number;
}

interface Contender {
  measure: () => Promise<LatencyResult>;
  series: LatencySeries;
}

const SMALL_BYTES = 16;

export async function measureLatencyPair(
  segment: string,
  nativeBinary: string,
  workDir: string,
  plan: LatencyPairPlan,
): Promise<LatencyPairResult> {
  const phase: PhasePlan = {
    warmupCalls: plan.warmupCalls,
    warmupMs: plan.warmupMs,
    maxCalls: plan.maxCalls,
    maxMs: plan.roundMs,
  };
  // The peers' own measurements run a pipelined phase too: the shortest they accept, not judged here.
  const peerPlan = (size: number): RunPlan => ({
    sizes: [size],
    latency: phase,
    throughput: { warmupCalls: 64, warmupMs: 0, maxCalls: 256, maxMs: 5 },
    inFlight: 64,
    idleMs: 0,
  });
  const result: LatencyPairResult = {
    rounds: plan.rounds,
    phoenix16: { p50Us: [], meanUs: [] },
    rawJs16: { p50Us: [], meanUs: [] },
    phoenixBig: { p50Us: [], meanUs: [] },
    cBig: { p50Us: [], meanUs: [] },
    bigBytes: BIG_REPLY_BYTES,
    verified: 0,
  };
  const phoenix: EchoTransport<unknown> = await phoenixClientTransport(segment, 'adaptive');
  try {
    const phoenixTurn = (size: number) => async () => {
      const pool = new PayloadPool(size, 1);
      const latency = await pingPong(phoenix, pool, phase);
      pool.assertClean(`PhoenixIPC, ping-pong ${size} B`);
      result.verified += pool.verified;
      return latency;
    };
    const peerTurn =
      (measure: () => Promise<{ sizes: { latency: LatencyResult }[]; verified: number }>) => async () => {
        const measured = await measure();
        result.verified += measured.verified;
        return measured.sizes[0]!.latency;
      };
    const contenders: Contender[] = [
      { measure: phoenixTurn(SMALL_BYTES), series: result.phoenix16 },
      { measure: peerTurn(() => measureSab('spin', peerPlan(SMALL_BYTES))), series: result.rawJs16 },
      { measure: phoenixTurn(BIG_REPLY_BYTES), series: result.phoenixBig },
    ];
    if (nativeBinary !== '') {
      contenders.push({
        measure: peerTurn(() => measureNative(nativeBinary, 'spin', peerPlan(BIG_REPLY_BYTES), workDir)),
        series: result.cBig,
      });
    }
    // Round -1 is not recorded: it compiles the loops and settles every side at both sizes.
    for (let round = -1; round < plan.rounds; round++) {
      // Each round starts with the next contender, so none always follows the same one.
      for (let turn = 0; turn < contenders.length; turn++) {
        const contender = contenders[(round + 1 + turn) % contenders.length]!;
        const latency = await contender.measure();
        if (round < 0) continue;
        contender.series.p50Us.push(latency.p50Us);
        contender.series.meanUs.push(latency.meanUs);
      }
    }
    return result;
  } finally {
    await phoenix.close();
  }
}
