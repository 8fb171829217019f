/**
 * A worker thread begins and ends transactions in a tight loop while this
 * thread takes snapshots: every snapshot that says PROCESSING must show the
 * fields of one single transaction (no torn read). The writer runs
 * test/fixtures/monitor-writer-thread.mjs against the built package (dist/):
 * run `npx tsup` first.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { type MonitorSnapshot, ThreadMonitor } from '../src/index.js';

const WRITER = new URL('./fixtures/monitor-writer-thread.mjs', import.meta.url);
const DIST = new URL('../dist/index.js', import.meta.url).pathname;
const CHANNELS = 16;
const MIN_SNAPSHOTS = 300_000;
const MIN_PROCESSING = 1_000;
const MIN_WRITES = 200_000;
/** Upper bound on snapshots, so a writer that cannot get scheduled does not keep us forever. */
const MAX_SNAPSHOTS = 20_000_000;

/** Why `s` cannot be the fields of one transaction of the writer, or '' if it can. */
function inconsistency(s: MonitorSnapshot): string {
  const channel = Math.floor(s.seqId / 1000);
  const k = s.seqId % 1000;
  const problems: string[] = [];
  if (k < 1 || channel >= CHANNELS) problems.push('seq id not of the form channel*1000+k');
  if (s.slot !== channel) problems.push(`slot ${s.slot} for seq ${s.seqId}`);
  if (s.workerIndex !== channel) problems.push(`worker index ${s.workerIndex}`);
  if (s.groupId !== (channel & 1)) problems.push(`group ${s.groupId}`);
  if (s.ringPosition !== s.seqId) problems.push(`ring position ${s.ringPosition}`);
  if (s.funcId !== s.seqId + 1001) problems.push(`func id ${s.funcId}`);
  if (s.attempt !== channel + 1) problems.push(`attempt ${s.attempt}`);
  if (s.startTimestamp !== s.seqId / 4) problems.push(`start ${s.startTimestamp}`);
  return problems.join(', ');
}

describe('ThreadMonitor across threads', () => {
  it('never shows a torn transaction to a concurrent snapshot()', async () => {
    expect(existsSync(DIST), 'build the package first: npx tsup').toBe(true);
    const shared = new SharedArrayBuffer(128);
    ThreadMonitor.format(shared, 0);
    const control = new Int32Array(shared, 64, 4);
    const monitor = ThreadMonitor.attach(shared, 0);
    const worker = new Worker(WRITER, { workerData: { shared, channels: CHANNELS } });
    const exited = new Promise<number>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('exit', resolve);
    });

    let snapshots = 0;
    let processing = 0;
    const torn: string[] = [];
    try {
      // Wait until the writer is running (it says so after its first 1024
      // transactions), without warming snapshot() up: a cold, slow reader
      // against a fast writer is when a read overlaps a begin most often.
      const started = Atomics.wait(control, 1, 0, 30_000);
      expect(started, 'the writer thread did not start').not.toBe('timed-out');
      while (snapshots < MAX_SNAPSHOTS) {
        const s = monitor.snapshot();
        snapshots++;
        if (s.processing) {
          processing++;
          const problem = inconsistency(s);
          if (problem !== '' && torn.length < 10) torn.push(`${problem} in ${JSON.stringify(s)}`);
        }
        if (
          (snapshots & 1023) === 0 &&
          snapshots >= MIN_SNAPSHOTS &&
          processing >= MIN_PROCESSING &&
          Atomics.load(control, 1) >= MIN_WRITES
        ) {
          break;
        }
      }
    } finally {
      Atomics.store(control, 0, 1);
      await exited;
    }
    expect(torn).toEqual([]);
    expect(processing).toBeGreaterThanOrEqual(MIN_PROCESSING);
    const final = monitor.snapshot();
    expect(final.processing).toBe(false);
    expect(final.processed + final.failed).toBe(Atomics.load(control, 1));
    expect(final.transaction).toBe(Atomics.load(control, 1));
  });
});
