/** A PhoenixIPC echo worker (spawned by peers/phoenix-server), which also reports its GCs. argv[2] is the segment name. */
import { IpcServer } from '@phoenix-ipc/server';
import { CPU_PROFILE_FUNC_ID, cpuProfileHandler } from '../cpu-profiler.js';
import { ECHO_FUNC_ID, echoHandler, rawEchoHandler } from '../echo-handler.js';
import { GC_STATS_FUNC_ID, gcStatsHandler } from '../gc-counter.js';
import { HEAP_SAMPLE_FUNC_ID, heapSampleHandler } from '../heap-sampler.js';

const server = await IpcServer.create(process.argv[2]!);
// PHOENIX_BENCH_ECHO=views: the view-based echo, to compare (the raw one allocates nothing per request).
if (process.env.PHOENIX_BENCH_ECHO === 'views') server.registerHandler(ECHO_FUNC_ID, echoHandler);
else server.registerRawHandler(ECHO_FUNC_ID, rawEchoHandler);
// Its GCs since it started: the one-million-call run judges the worker's garbage too.
server.registerHandler(GC_STATS_FUNC_ID, gcStatsHandler());
// Its allocation sites on request (the caller probe's PROBE_HEAP_PROF).
server.registerHandler(HEAP_SAMPLE_FUNC_ID, heapSampleHandler());
// Its CPU profile on request (the caller probe's PROBE_WORKER_CPU_PROF).
server.registerHandler(CPU_PROFILE_FUNC_ID, cpuProfileHandler());
await server.start();
