/**
 * workerpool in process mode, one worker process:
 *
 *   caller process ──pool.exec('echo', [base64])──▶ workerpool worker process
 *                  ◀──────────── base64 ───────────
 *
 * workerpool forks its workers with the default 'json' serialization, so the
 * payload travels as base64 (decoded and re-encoded by the worker).
 */
import workerpool from 'workerpool';
import type { EchoTransport } from '../measure.js';
import { peerScript } from '../paths.js';

const decode = (reply: string) => Buffer.from(reply, 'base64');

export async function workerpoolTransport(): Promise<EchoTransport<Buffer>> {
  const pool = workerpool.pool(peerScript('workerpool-echo'), { workerType: 'process', minWorkers: 1, maxWorkers: 1 });
  const pid = (await pool.exec('pid', [])) as number;
  return {
    id: 'workerpool',
    label: 'workerpool, process mode, 1 worker',
    kind: 'process',
    peers: () => [{ pid, role: 'worker' }],
    // Decoding is part of the round trip, as in the fork 'json' transport.
    call: (payload) => (pool.exec('echo', [payload.toString('base64')]) as unknown as Promise<string>).then(decode),
    bytes: (reply) => reply,
    async close() {
      await pool.terminate(true);
    },
  };
}
