/**
 * Adaptive against block, judged fairly (job 'strategy-pair'): a client of
 * each strategy opened side by side in one runner (each with its own
 * supervisor and worker), and the pipelined rows taken in short alternating
 * rounds, so whatever the two CPUs are busy with meanwhile falls on both
 * alike. The 'phoenix-client-adaptive' and '-block' rows, measured ~15 s
 * apart, describe each strategy; on this machine kind the same row differs
 * by up to 1.6× from one such run to the next (1.02 to 1.66 M calls/s
 * pipelined, three runs in a row), which is larger than the difference
 * the target asks about.
 */
import type { Reply } from '@phoenix-ipc/client';
import { type EchoTransport, pipelined } from './measure.js';
import { phoenixClientTransport } from './transports/phoenix.js';

export interface StrategyPairPlan {
  sizes: number[];
  inFlight: number;
  rounds: number;
  /** Each round's measured window per strategy, after a short warm-up. */
  roundMs: number;
  warmupMs: number;
}

export interface StrategyPairRow {
  payloadBytes: number;
  /** calls/s of each round, in order. */
  adaptive: number[];
  block: number[];
}

export interface StrategyPairResult {
  rounds: number;
  rows: StrategyPairRow[];
  verified: number;
}

export async function measureStrategyPair(segment: string, plan: StrategyPairPlan): Promise<StrategyPairResult> {
  const opened: EchoTransport<Reply>[] = [];
  try {
    const adaptive = await phoenixClientTransport(segment, 'adaptive');
    opened.push(adaptive);
    const block = await phoenixClientTransport(`${segment}_block`, 'block');
    opened.push(block);
    const phase = { warmupCalls: plan.inFlight, warmupMs: plan.warmupMs, maxCalls: 50_000_000, maxMs: plan.roundMs };
    const rows: StrategyPairRow[] = [];
    let verified = 0;
    for (const size of plan.sizes) {
      const row: StrategyPairRow = { payloadBytes: size, adaptive: [], block: [] };
      // Round -1 is not recorded: it compiles the loop and settles both sides at this size.
      for (let round = -1; round < plan.rounds; round++) {
        // Alternate which goes first, so neither always follows the other.
        const order = (round & 1) === 0 ? [adaptive, block] : [block, adaptive];
        for (const transport of order) {
          const run = await pipelined(transport, size, plan.inFlight, phase);
          verified += run.verified;
          if (round >= 0) (transport === adaptive ? row.adaptive : row.block).push(run.msgsPerSec);
        }
      }
      rows.push(row);
    }
    return { rounds: plan.rounds, rows, verified };
  } finally {
    for (const transport of opened) await transport.close();
  }
}
