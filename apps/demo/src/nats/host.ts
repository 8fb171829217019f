/**
 * One "host" of the NATS demo: a cluster-style PhoenixIPC server (this script
 * is the supervisor and its two workers) whose supervisor serves the handlers
 * over NATS as service "demo". argv: segment name, NATS URL, host tag.
 * Prints {"ready":...} once it serves; on a "stop" line (stdin) it drains the
 * bridge, stops the server, prints {"stopped":...} and exits 0.
 */
import { createInterface } from 'node:readline';
import { serveOverNats } from '@phoenix-ipc/nats';
import { IpcServer } from '@phoenix-ipc/server';
import { REFUSES, SERVICE, WHO } from './protocol.js';

const [name, url, tag] = process.argv.slice(2) as [string, string, string];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const server = await IpcServer.create(name, { normalWorkers: 2, vipWorkers: 0 });
server.registerHandler(WHO, (_header, payload) =>
  encoder.encode(`${tag} worker ${process.pid}: ${decoder.decode(payload)}`),
);
server.registerHandler(REFUSES, () => {
  throw new RangeError(`${tag} refuses on purpose`);
});
await server.start();

if (!server.isWorker) {
  const say = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  const bridge = await serveOverNats(server, { servers: url }, { service: SERVICE });
  say({ ready: true, pid: process.pid, funcIds: bridge.funcIds });
  createInterface({ input: process.stdin }).on('line', async (line) => {
    if (line.trim() !== 'stop') return;
    await bridge.stop(); // stop taking requests, answer the accepted ones
    await server.stop();
    say({ stopped: true, stats: bridge.stats() });
    process.exit(0);
  });
}
