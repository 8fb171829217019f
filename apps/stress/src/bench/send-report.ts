/**
 * The pipelined phases through sendInto (handlers, no promise per call)
 * beside the same phases through callAsync, for the transports that have
 * both (the PhoenixIPC client rows): what a promise per call costs.
 */
import { cpuPair, formatRate, formatRatio, formatSize, markdownTable } from './report.js';
import type { TransportResult } from './types.js';

export function sendIntoTable(results: readonly TransportResult[]): string | null {
  const rows: string[][] = [];
  for (const result of results) {
    for (const size of result.sizes) {
      const send = size.throughputSend;
      if (send === undefined) continue;
      rows.push([
        result.label,
        formatSize(size.payloadBytes),
        formatRate(size.throughput.msgsPerSec),
        formatRate(send.msgsPerSec),
        formatRatio(send.msgsPerSec / size.throughput.msgsPerSec),
        cpuPair(size.throughput.callerCpuUs, size.throughput.peerCpuUs),
        cpuPair(send.callerCpuUs, send.peerCpuUs),
      ]);
    }
  }
  if (rows.length === 0) return null;
  return markdownTable(
    [
      'transport',
      'payload',
      'callAsync calls/s x64',
      'sendInto calls/s x64',
      'sendInto ×callAsync',
      'CPU µs/call callAsync (caller / peer)',
      'CPU µs/call sendInto (caller / peer)',
    ],
    rows,
    (column) => column >= 2,
  );
}
