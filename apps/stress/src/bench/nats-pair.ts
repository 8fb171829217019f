/**
 * The bridge's latency cost, judged fairly (job 'nats-pair'): the plain NATS
 * echo and NatsCaller→bridge→worker opened side by side in one runner, and
 * their sequential 16 B calls taken in many short alternating rounds, so
 * whatever the two CPUs are busy with meanwhile falls on both alike. (The
 * 'nats-echo' and 'nats-phoenix' rows, measured one after the other, describe
 * each path; their p50s taken minutes apart differ by up to 2× on this
 * machine kind from one run to the next, in either direction.)
 */
import { latencyHistogram, summarize } from './histogram.js';
import { PayloadPool } from './payload.js';
import { natsEchoTransport, natsPhoenixTransport } from './transports/nats.js';

export interface NatsPairPlan {
  rounds: number;
  callsPerRound: number;
}

export interface NatsPairResult {
  rounds: number;
  calls: number;
  echo: { p50Us: number; p99Us: number };
  bridge: { p50Us: number; p99Us: number };
}

const PAYLOAD_BYTES = 16;

export async function measureNatsPair(segment: string, plan: NatsPairPlan): Promise<NatsPairResult> {
  const echo = await natsEchoTransport();
  try {
    const bridge = await natsPhoenixTransport(segment);
    try {
      const sides = [
        { call: (p: Buffer) => echo.call(p).then((r) => echo.bytes(r)), histogram: latencyHistogram() },
        { call: (p: Buffer) => bridge.call(p).then((r) => bridge.bytes(r)), histogram: latencyHistogram() },
      ];
      const pool = new PayloadPool(PAYLOAD_BYTES, 1);
      let n = 0;
      for (let round = 0; round < plan.rounds; round++) {
        for (const side of sides) {
          for (let i = 0; i < plan.callsPerRound; i++) {
            const payload = pool.stamp(0, ++n);
            const t0 = performance.now();
            const reply = await side.call(payload);
            side.histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
            pool.verify(0, reply);
          }
        }
      }
      pool.assertClean('NATS pair, 16 B');
      const [echoSummary, bridgeSummary] = sides.map((side) => {
        const summary = summarize(side.histogram);
        side.histogram.destroy();
        return { p50Us: summary.p50Us, p99Us: summary.p99Us };
      });
      return { rounds: plan.rounds, calls: n, echo: echoSummary!, bridge: bridgeSummary! };
    } finally {
      await bridge.close();
    }
  } finally {
    await echo.close();
  }
}
