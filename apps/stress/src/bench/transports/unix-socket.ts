/**
 * A Unix domain socket (net module), length-prefixed frames, one echo process:
 *
 *   caller process ──[len|id|payload]──▶ socket-echo process
 *                  ◀──[len|id|payload]──
 */
import { rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EchoTransport } from '../measure.js';
import { peerScript } from '../paths.js';
import { endChild, forkPeer } from './child.js';
import { encodeFrame, FrameReader } from './frames.js';
import { PendingReplies } from './pending-replies.js';

export async function unixSocketTransport(): Promise<EchoTransport<Buffer>> {
  const path = join(tmpdir(), `phx-bench-${process.pid}-${Date.now()}.sock`);
  const { child } = await forkPeer(peerScript('socket-echo'), [path], {});
  const socket = createConnection(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const pending = new PendingReplies<Buffer>();
  const reader = new FrameReader((id, payload) => pending.settle(id, payload));
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('error', (error) => pending.failAll(error));
  socket.on('close', () => pending.failAll(new Error('the echo socket closed')));
  return {
    id: 'unix-socket',
    label: 'Unix domain socket, length-prefixed frames',
    kind: 'process',
    peers: () => [{ pid: child.pid ?? 0, role: 'echo' }],
    call(payload) {
      const { id, promise } = pending.add();
      socket.write(encodeFrame(id, payload));
      return promise;
    },
    bytes: (reply) => reply,
    async close() {
      socket.destroy();
      await endChild(child);
      rmSync(path, { force: true });
    },
  };
}
