/**
 * The PhoenixIPC supervisor of the benchmark (argv[2]: PhoenixServerConfig as
 * JSON). It starts its echo workers (peers/phoenix-worker), says ready, then
 * serves requests from its parent: run the supervisor→worker benchmark
 * itself, report RSS and per-worker call counts, or stop.
 */
import { setParentDeathSignal } from '@phoenix-ipc/native-shm';
import { IpcServer } from '@phoenix-ipc/server';
import { measureTransport } from '../measure.js';
import { peerScript } from '../paths.js';
import { rssOf } from '../proc.js';
import {
  type PhoenixServerConfig,
  phoenixSupervisorTransport,
  type ServerReply,
  type ServerRequest,
} from '../transports/phoenix.js';

setParentDeathSignal('SIGKILL');
const config = JSON.parse(process.argv[2]!) as PhoenixServerConfig;
const server = await IpcServer.create(config.name, {
  normalWorkers: config.workers,
  vipWorkers: 0,
  waitStrategy: config.waitStrategy,
  maxClients: config.maxClients,
  // The 64 KiB rows need room above the 32 KiB default (the typed-service job asks for more).
  maxPayloadBytes: config.maxPayloadBytes ?? 64 * 1024,
  concurrency: config.concurrency ?? 1,
  // docs/tuning.md "Batching": its table is measured by setting this (the caller probe).
  ...(process.env.PHOENIX_BENCH_REPLY_BATCH === undefined
    ? {}
    : { replyBatch: Number(process.env.PHOENIX_BENCH_REPLY_BATCH) }),
});
await server.start(peerScript(config.worker ?? 'phoenix-worker'), [config.name]);

const reply = (message: ServerReply) => process.send!(message);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop({ graceMs: 2000 });
  process.exit(0);
};

process.on('message', (request: ServerRequest) => {
  if (request.t === 'stop') {
    void stop();
  } else if (request.t === 'stats') {
    reply({
      t: 'stats',
      supervisor: rssOf(process.pid),
      workers: server.getWorkerStats().map((worker) => ({ ...rssOf(worker.pid), processed: worker.processed })),
    });
  } else if (request.t === 'bench') {
    measureTransport(phoenixSupervisorTransport(server, config.waitStrategy), request.plan).then(
      (result) => reply({ t: 'result', result }),
      (error: unknown) =>
        reply({ t: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  }
});
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
reply({ t: 'ready', supervisorPid: process.pid, workerPids: server.getWorkerStats().map((worker) => worker.pid) });
