/** The typed-service section of the report, and its targets (ratios to the raw calls of the same run). */
import { formatRate, formatRatio, formatUs, markdownTable, type TargetVerdict } from './report.js';
import type { ServiceBenchResult, WorkloadResult } from './service-bench.js';

const RAW_OF: Record<WorkloadResult['id'], WorkloadResult['id']> = {
  'raw-16': 'raw-16',
  'service-record': 'raw-16',
  'raw-64k': 'raw-64k',
  'service-64k': 'raw-64k',
};

export function serviceTable(result: ServiceBenchResult): string {
  const byId = new Map(result.workloads.map((workload) => [workload.id, workload]));
  return markdownTable(
    ['call (client→worker, adaptive)', 'p50 µs', 'p99 µs', 'p50 × raw', 'calls/s x64', 'x64 × raw', 'replies verified'],
    result.workloads.map((workload) => {
      const raw = byId.get(RAW_OF[workload.id])!;
      return [
        workload.label,
        formatUs(workload.p50Us),
        formatUs(workload.p99Us),
        formatRatio(workload.p50Us / raw.p50Us),
        formatRate(workload.msgsPerSec),
        formatRatio(workload.msgsPerSec / raw.msgsPerSec),
        workload.verified.toLocaleString('en-US'),
      ];
    }),
    (column) => column >= 1,
  );
}

export function codecTable(result: ServiceBenchResult): string {
  return markdownTable(
    ['value', 'codec', 'µs per encode + decode', 'round-trips'],
    result.codecs.map((entry) => [
      entry.value,
      entry.codec,
      entry.roundTripUs === null ? 'cannot encode' : formatUs(entry.roundTripUs),
      entry.roundTrips ? 'yes' : 'no',
    ]),
    (column) => column === 2,
  );
}

/** The codec that round-trips every value and is fastest in total over them, or null. */
export function fastestRoundTripping(result: ServiceBenchResult): { codec: string; totalUs: number } | null {
  const totals = new Map<string, number>();
  const failed = new Set<string>();
  for (const entry of result.codecs) {
    if (!entry.roundTrips || entry.roundTripUs === null) failed.add(entry.codec);
    else totals.set(entry.codec, (totals.get(entry.codec) ?? 0) + entry.roundTripUs);
  }
  let best: { codec: string; totalUs: number } | null = null;
  for (const [codec, totalUs] of totals) {
    if (failed.has(codec)) continue;
    if (best === null || totalUs < best.totalUs) best = { codec, totalUs };
  }
  return best;
}

export function judgeServiceTargets(result: ServiceBenchResult | null): TargetVerdict[] {
  const get = (id: WorkloadResult['id']) => result?.workloads.find((workload) => workload.id === id);
  const verdicts: TargetVerdict[] = [];
  const add = (target: string, ok: boolean | null, measured: string) =>
    verdicts.push({
      target,
      status: ok === null ? 'n/a' : ok ? 'PASS' : 'FAIL',
      measured: ok === null ? 'not measured in this run (see --filter)' : measured,
    });
  const raw16 = get('raw-16');
  const record = get('service-record');
  const raw64 = get('raw-64k');
  const field64 = get('service-64k');
  const p50 = record !== undefined && raw16 !== undefined ? record.p50Us / raw16.p50Us : null;
  add(
    'typed service, small object { id, name, tags }: p50 within 1.5× of the raw 16 B call',
    p50 === null ? null : p50 <= 1.5,
    `service ${formatUs(record?.p50Us ?? 0)} µs / raw ${formatUs(raw16?.p50Us ?? 0)} µs = ${formatRatio(p50 ?? 0)}`,
  );
  const rate = record !== undefined && raw16 !== undefined ? record.msgsPerSec / raw16.msgsPerSec : null;
  add(
    'typed service, small object, pipelined x64: at least 60% of the raw 16 B calls/s',
    rate === null ? null : rate >= 0.6,
    `service ${formatRate(record?.msgsPerSec ?? 0)} / raw ${formatRate(raw16?.msgsPerSec ?? 0)} = ${((rate ?? 0) * 100).toFixed(0)}%`,
  );
  const field = field64 !== undefined && raw64 !== undefined ? field64.p50Us / raw64.p50Us : null;
  add(
    'typed service, 64 KiB Uint8Array field: p50 at most 1.2× the raw 64 KiB call',
    field === null ? null : field <= 1.2,
    `service ${formatUs(field64?.p50Us ?? 0)} µs / raw ${formatUs(raw64?.p50Us ?? 0)} µs = ${formatRatio(field ?? 0)}`,
  );
  const fastest = result === null ? null : fastestRoundTripping(result);
  add(
    "codec: the service's codec is the fastest that round-trips every value (against msgpackr structuredClone, v8.serialize, JSON)",
    result === null ? null : fastest?.codec.startsWith('service codec') === true,
    fastest === null
      ? 'no codec round-trips every value'
      : `fastest that round-trips: ${fastest.codec} (${formatUs(fastest.totalUs)} µs for the three values)`,
  );
  return verdicts;
}
