/**
 * Echo peer of the child_process.fork IPC benchmark. argv[2] is the
 * serialization ('json': payload as base64, decoded and re-encoded like a real
 * handler would; 'advanced': a Uint8Array sent back as is).
 */
import { setParentDeathSignal } from '@phoenix-ipc/native-shm';
import type { ForkMessage } from '../transports/fork-ipc.js';

setParentDeathSignal('SIGKILL');
const json = process.argv[2] === 'json';
process.on('message', (message: ForkMessage) => {
  const payload = json ? Buffer.from(message.p as string, 'base64') : (message.p as Uint8Array);
  process.send!({ i: message.i, p: json ? payload.toString('base64') : payload });
});
process.on('disconnect', () => process.exit(0));
process.send!({ t: 'ready' });
