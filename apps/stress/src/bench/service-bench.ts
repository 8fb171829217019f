/**
 * The typed-service benchmark (job 'service'): the cost of @phoenix-ipc/service
 * over the raw bytes API, measured in one runner process against one server,
 * with the same client, the same loops and the same run:
 *
 *   raw 16 B            client.callAsync(1001, 16 bytes)        echo handler (bytes)
 *   service record      api.record({ id, name: 'x', tags })     a similar record back
 *   raw 64 KiB          client.callAsync(1001, 64 KiB)          echo handler (bytes)
 *   service 64 KiB      api.bytes({ data: 64 KiB Uint8Array })  { data } back (view in, encoded in place out)
 *
 * Each workload: sequential calls (p50, p99) and 64 calls in flight (calls/s),
 * in many short rounds that take the workloads in turn (the figures are over
 * all rounds), so a load that comes and goes on a shared machine hits all of
 * them alike. Every reply is checked.
 * Then the codecs on their own, in this process: the service's codec
 * (msgpackr, records off, with its plain-value fast path) against msgpackr
 * as the issue measured it ({ structuredClone: true }), v8.serialize and
 * JSON, on the same values.
 */
import { isDeepStrictEqual } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import { IpcClient } from '@phoenix-ipc/client';
import { type Codec, jsonCodec, msgpackCodec } from '@phoenix-ipc/service';
import type { Histogram } from 'hdr-histogram-js';
import { Packr } from 'msgpackr';
import { ECHO_FUNC_ID } from './echo-handler.js';
import { latencyHistogram, summarize } from './histogram.js';
import { benchService, SERVICE_BENCH_MAX_PAYLOAD } from './service-definition.js';
import { PhoenixServerProcess } from './transports/phoenix.js';

export interface ServiceBenchPlan {
  rounds: number;
  warmupCalls: number;
  latencyCalls: number;
  inFlight: number;
  throughputMaxCalls: number;
  throughputMaxMs: number;
  codecIterations: number;
}

export interface WorkloadResult {
  id: 'raw-16' | 'service-record' | 'raw-64k' | 'service-64k';
  label: string;
  /** Over every round's calls. */
  p50Us: number;
  p99Us: number;
  msgsPerSec: number;
  verified: number;
}

export interface CodecResult {
  codec: string;
  value: string;
  /** µs per encode + decode; null if the codec cannot encode the value. */
  roundTripUs: number | null;
  /** The decoded value is deep-equal to the original (types included). */
  roundTrips: boolean;
}

export interface ServiceBenchResult {
  rounds: number;
  workloads: WorkloadResult[];
  codecs: CodecResult[];
}

interface Workload {
  id: WorkloadResult['id'];
  label: string;
  /** Call number `n` on in-flight slot `slot`; resolves true if the reply is right. */
  call(n: number, slot: number): Promise<boolean>;
}

const KIB64 = 64 * 1024;

/** Per-slot buffers stamped with the call number at both ends (like the echo benchmark's PayloadPool). */
function stamped(
  size: number,
  slots: number,
): { stamp(slot: number, n: number): Buffer; check(slot: number, reply: Uint8Array): boolean } {
  const buffers = Array.from({ length: slots }, () => {
    const buffer = Buffer.allocUnsafeSlow(size);
    for (let i = 0; i < size; i++) buffer[i] = (i * 31 + 7) & 0xff;
    return buffer;
  });
  return {
    stamp(slot, n) {
      const buffer = buffers[slot]!;
      buffer.writeUInt32LE(n >>> 0, 0);
      buffer.writeUInt32LE(n >>> 0, size - 4);
      return buffer;
    },
    check: (slot, reply) => reply.length === size && buffers[slot]!.equals(reply),
  };
}

function workloads(client: IpcClient, inFlight: number): Workload[] {
  const api = benchService.bind(client);
  const small = stamped(16, inFlight);
  const large = stamped(KIB64, inFlight);
  const largeField = stamped(KIB64, inFlight);
  const tags = ['a', 'b'];
  return [
    {
      id: 'raw-16',
      label: 'raw bytes, 16 B',
      call: (n, slot) => client.callAsync(ECHO_FUNC_ID, small.stamp(slot, n)).then((r) => small.check(slot, r.payload)),
    },
    {
      id: 'service-record',
      label: "service, { id, name: 'x', tags: ['a', 'b'] } -> similar",
      call: (n) =>
        api.record({ id: n, name: 'x', tags }).then((r) => r.id === n && r.name === 'x' && r.tags[1] === 'b'),
    },
    {
      id: 'raw-64k',
      label: 'raw bytes, 64 KiB',
      call: (n, slot) => client.callAsync(ECHO_FUNC_ID, large.stamp(slot, n)).then((r) => large.check(slot, r.payload)),
    },
    {
      id: 'service-64k',
      label: 'service, { data: 64 KiB Uint8Array } -> { data }',
      call: (n, slot) => api.bytes({ data: largeField.stamp(slot, n) }).then((r) => largeField.check(slot, r.data)),
    },
  ];
}

/** Sequential calls after a short warm-up, recorded into `histogram` (ns). */
async function latency(
  workload: Workload,
  plan: ServiceBenchPlan,
  counter: { n: number; bad: number },
  histogram: Histogram,
): Promise<void> {
  for (let i = 0; i < plan.warmupCalls; i++) if (!(await workload.call(++counter.n, 0))) counter.bad++;
  for (let i = 0; i < plan.latencyCalls; i++) {
    const n = ++counter.n;
    const t0 = performance.now();
    const ok = await workload.call(n, 0);
    histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1e6)));
    if (!ok) counter.bad++;
  }
}

/** `inFlight` calls always outstanding; counts the replies of a window after a warm-up. */
function throughput(
  workload: Workload,
  plan: ServiceBenchPlan,
  counter: { n: number; bad: number },
): Promise<{ calls: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    let completed = 0;
    let outstanding = 0;
    let measuring = false;
    let done = false;
    let t0 = 0;
    let c0 = 0;
    let window = { calls: 0, seconds: 0 };
    const launch = (slot: number) => {
      outstanding++;
      workload.call(++counter.n, slot).then((ok) => {
        outstanding--;
        completed++;
        if (!ok) counter.bad++;
        const now = performance.now();
        if (!measuring && completed >= plan.warmupCalls) {
          measuring = true;
          t0 = now;
          c0 = completed;
        } else if (
          measuring &&
          !done &&
          (completed - c0 >= plan.throughputMaxCalls || now - t0 >= plan.throughputMaxMs)
        ) {
          done = true;
          window = { calls: completed - c0, seconds: (now - t0) / 1000 };
        }
        if (!done) launch(slot);
        else if (outstanding === 0) resolve(window);
      }, reject);
    };
    for (let slot = 0; slot < plan.inFlight; slot++) launch(slot);
  });
}

const structuredClone = new Packr({ structuredClone: true });

const CODECS: { name: string; codec: Codec }[] = [
  { name: 'service codec (msgpackr, plain fast path)', codec: msgpackCodec },
  {
    name: 'msgpackr { structuredClone: true }',
    codec: {
      name: 'msgpackr',
      encode: (value) => structuredClone.pack(value),
      decode: (bytes) => structuredClone.unpack(bytes),
    },
  },
  {
    name: 'v8.serialize',
    codec: { name: 'v8', encode: (value) => serialize(value), decode: (bytes) => deserialize(bytes) },
  },
  { name: 'JSON', codec: jsonCodec },
];

const CODEC_VALUES: { name: string; value: unknown }[] = [
  { name: "{ id: 42, name: 'x', tags: ['a', 'b'] }", value: { id: 42, name: 'x', tags: ['a', 'b'] } },
  {
    name: 'Date, Map, Set, BigInt, null, undefined, 16 B Uint8Array',
    value: {
      when: new Date(1_700_000_000_000),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, 'b'],
      ]),
      set: new Set(['x', 'y']),
      big: 2n ** 70n,
      none: null,
      missing: undefined,
      bytes: new Uint8Array(16).fill(3),
    },
  },
  { name: '{ data: 64 KiB Uint8Array }', value: { data: new Uint8Array(KIB64).fill(5) } },
];

/** µs per encode + decode of every value with every codec, and whether it comes back equal. */
export function compareCodecs(iterations: number): CodecResult[] {
  const results: CodecResult[] = [];
  for (const { name: value, value: sample } of CODEC_VALUES) {
    for (const { name: codec, codec: implementation } of CODECS) {
      let decoded: unknown;
      try {
        decoded = implementation.decode(implementation.encode(sample));
      } catch {
        results.push({ codec, value, roundTripUs: null, roundTrips: false });
        continue;
      }
      const runs = value.includes('64 KiB') ? Math.max(10, iterations / 20) : iterations;
      // As a service uses a codec: the encoded bytes are released once done with (if it can reuse them).
      const roundTrip = () => {
        const bytes = implementation.encode(sample);
        implementation.decode(bytes);
        implementation.release?.(bytes);
      };
      for (let i = 0; i < runs / 10; i++) roundTrip();
      const t0 = performance.now();
      for (let i = 0; i < runs; i++) roundTrip();
      const roundTripUs = ((performance.now() - t0) * 1000) / runs;
      results.push({ codec, value, roundTripUs, roundTrips: isDeepStrictEqual(decoded, sample) });
    }
  }
  return results;
}

export async function runServiceBench(segment: string, plan: ServiceBenchPlan): Promise<ServiceBenchResult> {
  const server = await PhoenixServerProcess.start({
    name: segment,
    workers: 1,
    waitStrategy: 'adaptive',
    maxClients: 2,
    worker: 'service-worker',
    maxPayloadBytes: SERVICE_BENCH_MAX_PAYLOAD,
  });
  const client = IpcClient.create(segment, { waitStrategy: 'adaptive' });
  try {
    await client.connect(10_000);
    const list = workloads(client, plan.inFlight);
    const counter = { n: 0, bad: 0 };
    const totals = new Map(
      list.map((workload) => [workload.id, { histogram: latencyHistogram(), calls: 0, seconds: 0, verified: 0 }]),
    );
    // Many short rounds, each running every workload in turn: a load that comes
    // and goes on a shared machine falls on all of them alike.
    for (let round = 0; round < plan.rounds; round++) {
      for (const workload of list) {
        const total = totals.get(workload.id)!;
        const before = counter.n;
        await latency(workload, plan, counter, total.histogram);
        total.verified += counter.n - before;
      }
      for (const workload of list) {
        const total = totals.get(workload.id)!;
        const before = counter.n;
        const window = await throughput(workload, plan, counter);
        total.calls += window.calls;
        total.seconds += window.seconds;
        total.verified += counter.n - before;
      }
    }
    if (counter.bad > 0) throw new Error(`${counter.bad} of ${counter.n} typed-service benchmark replies were wrong`);
    return {
      rounds: plan.rounds,
      workloads: list.map((workload) => {
        const total = totals.get(workload.id)!;
        const summary = summarize(total.histogram);
        total.histogram.destroy();
        return {
          id: workload.id,
          label: workload.label,
          p50Us: summary.p50Us,
          p99Us: summary.p99Us,
          msgsPerSec: total.calls / total.seconds,
          verified: total.verified,
        };
      }),
      codecs: compareCodecs(plan.codecIterations),
    };
  } finally {
    await client.disconnect();
    await server.stop();
  }
}
