/**
 * The quick-start server, cluster-style: this one script is both the
 * supervisor (the process you start) and every worker (the processes the
 * supervisor spawns, which get `server.isWorker === true`).
 *
 *   node dist/server.js [/segment-name]
 *
 * It prints "ready" once all workers serve, and stops cleanly on SIGTERM,
 * SIGINT or a line "stop" on stdin, printing the worker stats first.
 */
import { IpcServer } from '@phoenix-ipc/server';

export const ECHO = 1001;
export const EMPTY = 1002;

const name = process.argv[2] ?? '/phoenix_demo';

const server = await IpcServer.create(name, { normalWorkers: 4, vipWorkers: 2 });

// Echo: the reply is written straight into shared memory (zero copy).
server.registerHandler(ECHO, (header, payload, response, responsePayload) => {
  response.funcId = header.funcId;
  responsePayload.set(payload);
  response.payloadLen = payload.length;
});

// Empty reply.
server.registerHandler(EMPTY, (_header, _payload, response) => {
  response.payloadLen = 0;
});

await server.start();

if (!server.isWorker) {
  console.log(`ready ${name} (supervisor pid ${process.pid})`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('worker stats:');
    console.table(
      server.getWorkerStats().map(({ group, index, pid, alive, processed, failed, crashes, restarts }) => ({
        group,
        index,
        pid,
        alive,
        processed,
        failed,
        crashes,
        restarts,
      })),
    );
    await server.stop();
    console.log('server stopped');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    if (chunk.includes('stop')) void stop();
  });
}
