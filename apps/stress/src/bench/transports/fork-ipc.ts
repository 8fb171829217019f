/**
 * child_process.fork IPC, one echo child:
 *
 *   caller process ──process.send({i, p})──▶ fork-echo process
 *                  ◀──process.send({i, p})──
 *
 * 'json': the payload travels as a base64 string (JSON has no bytes), encoded
 * and decoded on both sides. 'advanced': structured clone, p is a Uint8Array.
 */
import type { ChildProcess } from 'node:child_process';
import type { EchoTransport } from '../measure.js';
import { peerScript } from '../paths.js';
import { endChild, forkPeer } from './child.js';
import { PendingReplies } from './pending-replies.js';

export type ForkMessage = { i: number; p: string | Uint8Array };

export async function forkIpcTransport(serialization: 'json' | 'advanced'): Promise<EchoTransport<Uint8Array>> {
  const { child } = await forkPeer(peerScript('fork-echo'), [serialization], { serialization });
  const pending = new PendingReplies<Uint8Array>();
  const json = serialization === 'json';
  child.on('message', (message: ForkMessage) => {
    const bytes = json ? Buffer.from(message.p as string, 'base64') : (message.p as Uint8Array);
    pending.settle(message.i, bytes);
  });
  child.on('exit', (code, signal) => pending.failAll(new Error(`the fork echo child exited (${code ?? signal})`)));
  return {
    id: `fork-${serialization}`,
    label: `child_process.fork IPC, '${serialization}'${json ? ' (payload base64)' : ' (Uint8Array)'}`,
    kind: 'process',
    peers: () => [{ pid: child.pid ?? 0, role: 'echo' }],
    call(payload) {
      const { id, promise } = pending.add();
      (child as ChildProcess).send({ i: id, p: json ? payload.toString('base64') : payload });
      return promise;
    },
    bytes: (reply) => reply,
    close: () => endChild(child),
  };
}
