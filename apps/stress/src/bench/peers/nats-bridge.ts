/**
 * The PhoenixIPC server of the NATS benchmark: a supervisor with one echo
 * worker (peers/phoenix-worker) that serves it over NATS with serveOverNats.
 * argv[2]: NatsBridgeConfig as JSON. Says ready with its pids; stops (bridge,
 * then server) on 'stop', SIGTERM or when its parent goes.
 */
import { setParentDeathSignal } from '@phoenix-ipc/native-shm';
import { serveOverNats } from '@phoenix-ipc/nats';
import { IpcServer } from '@phoenix-ipc/server';
import { ECHO_FUNC_ID } from '../echo-handler.js';
import { peerScript } from '../paths.js';
import type { NatsBridgeConfig } from '../transports/nats.js';

setParentDeathSignal('SIGKILL');
const config = JSON.parse(process.argv[2]!) as NatsBridgeConfig;
const server = await IpcServer.create(config.name, {
  normalWorkers: 1,
  vipWorkers: 0,
  waitStrategy: config.waitStrategy,
  maxClients: 1,
  // The bench echoes up to 64 KiB; the default (32 KiB) is sized for small containers.
  maxPayloadBytes: 64 * 1024,
});
await server.start(peerScript('phoenix-worker'), [config.name]);
const bridge = await serveOverNats(
  server,
  { servers: config.url },
  { service: config.service, funcIds: [ECHO_FUNC_ID] },
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await bridge.stop();
  await server.stop({ graceMs: 2000 });
  process.exit(0);
};
process.on('message', (message: { t: string }) => {
  if (message.t === 'stop') void stop();
});
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
process.send!({
  t: 'ready',
  supervisorPid: process.pid,
  workerPids: server.getWorkerStats().map((worker) => worker.pid),
});
