/**
 * Echo peer of the Unix-socket benchmark: listens on argv[2]; for every frame
 * it builds a reply frame (a copy, like a real handler's answer) and writes
 * it back; replies to one read are written corked, as one write.
 */
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { setParentDeathSignal } from '@phoenix-ipc/native-shm';
import { encodeFrame, FrameReader } from '../transports/frames.js';

setParentDeathSignal('SIGKILL');
const path = process.argv[2]!;
rmSync(path, { force: true });
const server = createServer((socket) => {
  const reader = new FrameReader((id, payload) => socket.write(encodeFrame(id, payload)));
  socket.on('data', (chunk: Buffer) => {
    socket.cork();
    reader.push(chunk);
    socket.uncork();
  });
  socket.on('error', () => socket.destroy());
});
server.listen(path, () => process.send!({ t: 'ready' }));
const leave = () => {
  server.close();
  rmSync(path, { force: true });
  process.exit(0);
};
process.on('SIGTERM', leave);
process.on('disconnect', leave);
