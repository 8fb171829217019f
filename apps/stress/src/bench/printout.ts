/**
 * The bench's printed report after its jobs ran: the result tables, CPU, GC
 * and scaling lines, in the order a reader meets them (the target verdicts
 * follow, from report.ts). bench-main runs the jobs; this prints them.
 */

import { PHOENIX_REFERENCE } from './catalogue.js';
import type { LiveHeapResult, MillionResult, ScalingResult } from './jobs.js';
import { BIG_REPLY_BYTES } from './measure.js';
import type { NatsPairResult } from './nats-pair.js';
import { IN_FLIGHT } from './plans.js';
import {
  bigReplyTable,
  formatRate,
  formatRatio,
  formatSize,
  formatUs,
  idleTable,
  liveHeapBigReplyTable,
  liveHeapTable,
  millionReport,
  natsTable,
  resultTable,
} from './report.js';
import { scalingRoundPairs, scalingTable } from './scaling-report.js';
import { sendIntoTable } from './send-report.js';
import type { ServiceBenchResult } from './service-bench.js';
import { codecTable, serviceTable } from './service-report.js';
import type { TransportResult } from './types.js';

export interface ReportInput {
  results: readonly TransportResult[];
  natsPair: NatsPairResult | null;
  millions: readonly MillionResult[];
  liveHeap: readonly LiveHeapResult[];
  scaling: readonly ScalingResult[];
  scalingRounds: readonly ScalingResult[];
  service: ServiceBenchResult | null;
  /** CPUs of this machine, for the scaling table's title. */
  cpus: number;
}

/** Prints every section of results that this run measured, one `log` call per line. */
export function printSections(log: (line?: string) => void, input: ReportInput): void {
  const { results, natsPair, millions, liveHeap, scaling, scalingRounds, service } = input;
  log();
  log(
    `## Results (payload echoed by a handler in another process; ×PX = ratio to ${PHOENIX_REFERENCE}, ×C = ratio to c-spin)`,
  );
  log(
    'p50/p99/mean: sequential round trips (ping-pong 1:1). calls/s, MB/s: 64 calls in flight (pipelined 1:1 x64), MB/s of request payload.',
  );
  log(
    'Latency ratios above 1 are slower than the reference; throughput ratios below 1 are fewer calls/s. CPU: µs per call in the caller / in the peer processes ("both": threads of one process).',
  );
  log();
  log(resultTable(results));
  log();
  const nats = natsTable(results);
  if (nats !== null) {
    log(
      '## PhoenixIPC over NATS: what the bridge adds (NatsCaller→bridge→worker next to a plain NATS echo and the local path)',
    );
    log();
    log(nats);
    log();
  }
  if (natsPair !== null) {
    log(
      `Side by side (${natsPair.rounds} alternating rounds, ${natsPair.calls.toLocaleString('en-US')} calls of 16 B, what the target judges): p50 bridge ${formatUs(natsPair.bridge.p50Us)} µs, p99 ${formatUs(natsPair.bridge.p99Us)} µs; NATS echo p50 ${formatUs(natsPair.echo.p50Us)} µs, p99 ${formatUs(natsPair.echo.p99Us)} µs.`,
    );
    log();
  }
  const sendInto = sendIntoTable(results);
  if (sendInto !== null) {
    log();
    log('## Pipelined through sendInto (handlers, no promise per call)');
    log();
    log(sendInto);
  }
  const big = bigReplyTable(results, 64 * 1024);
  if (big !== null) {
    log(
      '## 64 KiB round trips: a fresh reply Buffer (call) or one reused buffer (callInto), page faults per call in steady state',
    );
    log();
    log(big);
    log();
  }
  log('## Idle CPU of a connected pair');
  log();
  log(idleTable(results));
  if (millions.length > 0) {
    log();
    log('## One million calls (PhoenixIPC)');
    for (const million of millions) {
      log();
      log(millionReport(million));
    }
  }
  if (liveHeap.length > 0) {
    log();
    log(
      `## Pipelined rows in a client with a history: ${liveHeap[0]!.sequential.calls.toLocaleString('en-US')} sequential calls first, then a live heap of small objects (x${IN_FLIGHT}, closed loop; GCs counted with the warm-up)`,
    );
    log();
    log(liveHeapTable(liveHeap, results));
    const bigReplies = liveHeapBigReplyTable(liveHeap);
    if (bigReplies !== null) {
      log();
      log(
        `The same client, heap still live, ${formatSize(BIG_REPLY_BYTES)} replies one at a time: into one kept buffer (callInto), then a fresh Buffer per reply (callAsync), GCs counted with the warm-up`,
      );
      log();
      log(bigReplies);
    }
  }
  if (scaling.length > 0) {
    log();
    log(
      `## Throughput scaling, pipelined 16 B x${IN_FLIGHT} per client, adaptive (this machine has ${input.cpus} CPUs)`,
    );
    log();
    log(scalingTable(scaling));
  }
  const roundPairs = scalingRoundPairs(scalingRounds);
  if (roundPairs.length > 0) {
    log();
    log(
      `1 client × 1 worker, then 4 clients × 2 workers, in ${roundPairs.length} alternating rounds (what the #16 target judges): ${roundPairs.map(([one, many]) => `${formatRate(one)} | ${formatRate(many)} (${formatRatio(many / one)})`).join('; ')}`,
    );
  }
  if (service !== null) {
    log();
    log(
      `## Typed services (@phoenix-ipc/service) against raw calls, same client and server, ${service.rounds} round(s) taking the calls in turn`,
    );
    log();
    log(serviceTable(service));
    log();
    log('Codecs alone, in one process (encode + decode; "round-trips": equal after, types included):');
    log();
    log(codecTable(service));
  }
}
