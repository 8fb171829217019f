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
 *
 * At `forkSizes` two more take turns in the same rounds: the adaptive client
 * through sendInto, and child_process.fork IPC ('json'), for the "15× fork
 * IPC" target. At `emptySizes` the adaptive client takes a turn with empty
 * payloads (echoed: empty replies), and at `concurrencySizes` an adaptive
 * client of a worker with concurrency 2 (replies copied from each lane's
 * scratch, not written in place): neither may fall far behind the plain call
 * (alternate-paths-report.ts). Its own job runs minutes after PhoenixIPC's, and this machine
 * has slow periods of minutes (docs/benchmarks-history.md, tenth session) in which
 * one of the two rows alone may fall.
 *
 * With `history` (job 'live-heap-pair'), the rounds run in a client with a
 * history, as issue 16 asks: each client makes its sequential calls first,
 * then the process builds a live heap of small objects that stays reachable
 * through the rounds. The 'live-heap-adaptive' and '-block' jobs measure one
 * window each, minutes apart, in different settings of the machine.
 */
import { buildLiveHeap, type LiveHeap } from './live-heap.js';
import { type EchoTransport, pingPong, pipelined } from './measure.js';
import { PayloadPool } from './payload.js';
import { forkIpcTransport } from './transports/fork-ipc.js';
import { phoenixClientTransport } from './transports/phoenix.js';
import type { PhasePlan } from './types.js';

export interface StrategyPairPlan {
  sizes: number[];
  inFlight: number;
  rounds: number;
  /** Each round's measured window per strategy, after a short warm-up. */
  roundMs: number;
  warmupMs: number;
  /** Sizes at which sendInto and fork IPC json take their turns too. */
  forkSizes: number[];
  /** Sizes at which the adaptive client takes a turn with empty payloads too. */
  emptySizes: number[];
  /** Sizes at which an adaptive client of a worker with concurrency 2 takes a turn too. */
  concurrencySizes: number[];
  /** A client with a history: each client's 16 B sequential phase, then `liveHeapMb` MB of live objects. */
  history?: { sequential: PhasePlan; liveHeapMb: number };
}

export interface StrategyPairRow {
  payloadBytes: number;
  /** calls/s of each round, in order. */
  adaptive: number[];
  block: number[];
  /** The adaptive client through sendInto; empty except at forkSizes. */
  adaptiveSend: number[];
  /** child_process.fork IPC, 'json'; empty except at forkSizes. */
  forkJson: number[];
  /** The adaptive client (callAsync) with empty payloads and replies; empty except at emptySizes. */
  adaptiveEmpty: number[];
  /** An adaptive client (callAsync) of a worker with concurrency 2; empty except at concurrencySizes. */
  adaptiveConcurrent: number[];
}

export interface StrategyPairResult {
  rounds: number;
  rows: StrategyPairRow[];
  verified: number;
  /** With a history: the live heap the rounds ran in. */
  liveHeap?: { bytes: number; objects: number };
}

interface Contender {
  transport: EchoTransport<unknown>;
  api: 'call' | 'send';
  rounds: number[];
  /** Its payload's size: the row's, or 0 for the empty-payload turn. */
  bytes: number;
}

export async function measureStrategyPair(segment: string, plan: StrategyPairPlan): Promise<StrategyPairResult> {
  const opened: EchoTransport<unknown>[] = [];
  try {
    const adaptive = await phoenixClientTransport(segment, 'adaptive');
    opened.push(adaptive);
    const block = await phoenixClientTransport(`${segment}_block`, 'block');
    opened.push(block);
    const fork = plan.forkSizes.length > 0 ? await forkIpcTransport('json') : null;
    if (fork !== null) opened.push(fork);
    const concurrent =
      plan.concurrencySizes.length > 0 ? await phoenixClientTransport(`${segment}_lanes`, 'adaptive', 2) : null;
    if (concurrent !== null) opened.push(concurrent);
    const phase = { warmupCalls: plan.inFlight, warmupMs: plan.warmupMs, maxCalls: 50_000_000, maxMs: plan.roundMs };
    const rows: StrategyPairRow[] = [];
    let verified = 0;
    let live: LiveHeap | null = null;
    if (plan.history !== undefined) {
      for (const transport of [adaptive, block]) {
        const pool = new PayloadPool(16, 1);
        await pingPong(transport, pool, plan.history.sequential);
        pool.assertClean(`${transport.label}, sequential phase`);
        verified += pool.verified;
      }
      live = buildLiveHeap(plan.history.liveHeapMb);
    }
    for (const size of plan.sizes) {
      const row: StrategyPairRow = {
        payloadBytes: size,
        adaptive: [],
        block: [],
        adaptiveSend: [],
        forkJson: [],
        adaptiveEmpty: [],
        adaptiveConcurrent: [],
      };
      const contenders: Contender[] = [
        { transport: adaptive, api: 'call', rounds: row.adaptive, bytes: size },
        { transport: block, api: 'call', rounds: row.block, bytes: size },
      ];
      if (fork !== null && plan.forkSizes.includes(size)) {
        contenders.push({ transport: adaptive, api: 'send', rounds: row.adaptiveSend, bytes: size });
        contenders.push({ transport: fork, api: 'call', rounds: row.forkJson, bytes: size });
      }
      if (plan.emptySizes.includes(size)) {
        contenders.push({ transport: adaptive, api: 'call', rounds: row.adaptiveEmpty, bytes: 0 });
      }
      if (concurrent !== null && plan.concurrencySizes.includes(size)) {
        contenders.push({ transport: concurrent, api: 'call', rounds: row.adaptiveConcurrent, bytes: size });
      }
      // Each contender keeps its request buffers from round to round, as an application would.
      const pools = contenders.map((contender) => new PayloadPool(contender.bytes, plan.inFlight));
      // Round -1 is not recorded: it compiles the loop and settles every side at this size.
      for (let round = -1; round < plan.rounds; round++) {
        // Each round starts with the next contender, so none always follows the same one.
        for (let turn = 0; turn < contenders.length; turn++) {
          const index = (round + 1 + turn) % contenders.length;
          const contender = contenders[index]!;
          const run = await pipelined(
            contender.transport,
            contender.bytes,
            plan.inFlight,
            phase,
            contender.api,
            pools[index],
          );
          verified += run.verified;
          if (round >= 0) contender.rounds.push(run.msgsPerSec);
        }
      }
      rows.push(row);
    }
    // Read after the rounds: the live objects stay reachable until here.
    const liveHeap = live === null ? undefined : { bytes: live.bytes, objects: live.roots.length };
    return { rounds: plan.rounds, rows, verified, ...(liveHeap === undefined ? {} : { liveHeap }) };
  } finally {
    for (const transport of opened) await transport.close();
  }
}
