/**
 * Thread peers (reference only: threads of the caller's process, not another process).
 *
 *   worker_threads   main thread ──postMessage({i, p})──▶ worker thread (echo)
 *                                ◀──postMessage({i, p})──
 *   piscina          main thread ──pool.run(p)──▶ 1 pool thread (echo)
 *
 * Payloads are structured-cloned (copied) both ways, no transfer list.
 */
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { EchoTransport } from '../measure.js';
import { peerScript } from '../paths.js';
import { PendingReplies } from './pending-replies.js';

export async function workerThreadsTransport(): Promise<EchoTransport<Uint8Array>> {
  const worker = new Worker(peerScript('thread-echo'));
  await new Promise<void>((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });
  const pending = new PendingReplies<Uint8Array>();
  worker.on('message', (message: { i: number; p: Uint8Array }) => pending.settle(message.i, message.p));
  worker.on('error', (error) => pending.failAll(error));
  return {
    id: 'worker-threads',
    label: 'worker_threads postMessage (threads)',
    kind: 'thread',
    peers: () => [],
    call(payload) {
      const { id, promise } = pending.add();
      worker.postMessage({ i: id, p: payload });
      return promise;
    },
    bytes: (reply) => reply,
    async close() {
      await worker.terminate();
    },
  };
}

export async function piscinaTransport(): Promise<EchoTransport<Uint8Array>> {
  const pool = new Piscina({
    filename: peerScript('piscina-echo'),
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: 600_000,
  });
  // The first task starts the thread: do it outside the measurement.
  await pool.run(new Uint8Array(1));
  return {
    id: 'piscina',
    label: 'piscina, 1 thread',
    kind: 'thread',
    peers: () => [],
    call: (payload) => pool.run(payload) as Promise<Uint8Array>,
    bytes: (reply) => reply,
    async close() {
      await pool.destroy();
    },
  };
}
