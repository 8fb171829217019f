/**
 * The quick-start server, cluster-style: this one script is both the
 * supervisor (the process you start) and every worker (the processes the
 * supervisor spawns, which get `server.isWorker === true`).
 *
 *   node dist/server.js [/segment-name]
 *
 * It serves the bytes API (echo on 1001, an empty reply on 1002) and the
 * typed service `shop` (src/demo-service.ts). It prints "ready" once all
 * workers serve, and stops cleanly on SIGTERM, SIGINT or a line "stop" on
 * stdin, printing the worker stats first.
 */
import { fstatSync } from 'node:fs';
import { IpcServer } from '@phoenix-ipc/server';
import { implement } from '@phoenix-ipc/service';
import { shop } from './demo-service.js';

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

// The typed service (every worker implements it; each keeps its own stats).
const since = new Date();
const items = new Map<string, number>();
class OutOfStock extends Error {
  override name = 'OutOfStock';
  readonly code = 'E_OUT_OF_STOCK';
  constructor(
    readonly item: string,
    readonly restockAt: Date,
  ) {
    super(`no ${item} left`);
  }
}
implement(server, shop, {
  quote: ({ item, count, at }) => {
    items.set(item, (items.get(item) ?? 0) + count);
    return { item, total: BigInt(count) * 1_000_000_000_000n, quotedAt: at, by: process.pid };
  },
  stats: () => ({ served: [...items.values()].reduce((sum, count) => sum + count, 0), since, items }),
  reserve: ({ item }) => {
    throw new OutOfStock(item, new Date(since.getTime() + 86_400_000));
  },
  record: ({ id, name, tags }) => ({ id, name, tags }),
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
  // Started by the demo's client through a pipe (Node's are Unix sockets): when that process is gone, whatever
  // ended it, its end of the pipe closes. Stop then, quietly (nobody reads our stdout any more), so that the
  // segment is unlinked and no worker is left behind. Not for a terminal or /dev/null on stdin.
  const stdin = fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) {
    process.stdin.on('end', () => {
      if (stopping) return;
      stopping = true;
      void server.stop().then(() => process.exit(0));
    });
  }
}
