import { defineService } from '@phoenix-ipc/service';

/** The typed service of the benchmark (peers/service-worker implements it; func id 1001 stays the raw echo). */
export interface BenchRecord {
  id: number;
  name: string;
  tags: string[];
}

export interface BenchService {
  /** Answers a similar record (the small-object call). */
  record(input: BenchRecord): BenchRecord;
  /** Echoes a Uint8Array field (a view into shared memory in, encoded straight into the reply out). */
  bytes(input: { data: Uint8Array }): { data: Uint8Array };
}

export const benchService = defineService<BenchService>('bench', { record: 1002, bytes: 1003 });

/** The bench server's maxPayloadBytes: a 64 KiB field plus its encoding must fit. */
export const SERVICE_BENCH_MAX_PAYLOAD = 128 * 1024;
