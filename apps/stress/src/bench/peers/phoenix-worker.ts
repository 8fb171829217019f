/** A PhoenixIPC echo worker (spawned by peers/phoenix-server), which also reports its GCs. argv[2] is the segment name. */
import { IpcServer } from '@phoenix-ipc/server';
import { ECHO_FUNC_ID, echoHandler } from '../echo-handler.js';
import { GC_STATS_FUNC_ID, gcStatsHandler } from '../gc-counter.js';

const server = await IpcServer.create(process.argv[2]!);
server.registerHandler(ECHO_FUNC_ID, echoHandler);
// Its GCs since it started: the one-million-call run judges the worker's garbage too.
server.registerHandler(GC_STATS_FUNC_ID, gcStatsHandler());
await server.start();
