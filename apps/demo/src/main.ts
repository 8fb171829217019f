/**
 * The quick start, end to end: starts the server (4 normal + 2 VIP workers)
 * as its own process, connects to it from this client process, calls the
 * typed service `shop` by name (structured values, an error with its fields),
 * then the bytes API's echo (1001) and empty (1002) handlers with normal and
 * VIP priority, measures both round trips, then stops the server and exits 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { IpcClient, PhoenixError, Priority } from '@phoenix-ipc/client';
import { shop } from './demo-service.js';

const ECHO = 1001;
const EMPTY = 1002;
const name = `/phoenix_demo_${process.pid}`;

const serverScript = fileURLToPath(new URL('./server.js', import.meta.url));
const server = spawn(process.execPath, [serverScript, name], { stdio: ['pipe', 'pipe', 'inherit'] });
server.stdout.setEncoding('utf8');
// Prefix every line the server prints (chunks may hold several, or part of one).
let atLineStart = true;
server.stdout.on('data', (chunk: string) => {
  const prefixed = chunk.replace(/^(?=.)/gm, '[server] ');
  process.stdout.write(atLineStart ? prefixed : prefixed.replace(/^\[server\] /, ''));
  atLineStart = chunk.endsWith('\n');
});
const serverExit = once(server, 'exit');

function fail(message: string): never {
  console.error(`demo failed: ${message}`);
  server.kill('SIGKILL');
  process.exit(1);
}

const watchdog = setTimeout(() => fail('timed out after 60 s'), 60_000);

const client = IpcClient.create(name);
await client.connect(30_000);
console.log(`client pid ${process.pid} connected to ${name} (slot ${client.slot})`);

// The typed API: methods by name, values with their types.
const api = shop.bind(client);
const quote = await api.quote({ item: 'pen', count: 3, at: new Date('2024-01-02T03:04:05Z') });
console.log(
  `typed quote  -> ${quote.item}: ${quote.total} (a ${typeof quote.total}), quoted at ${quote.quotedAt.toISOString()} (a ${quote.quotedAt.constructor.name}), by worker pid ${quote.by}`,
);
const vip = await api.quote({ item: 'ink', count: 1, at: new Date() }, { priority: Priority.High, timeoutMs: 5000 });
console.log(`typed quote  VIP -> ${vip.item}: ${vip.total}, by worker pid ${vip.by}`);
const stats = await api.stats();
console.log(
  `typed stats  -> served ${stats.served} since ${stats.since.toISOString()}, items a ${stats.items.constructor.name} of ${stats.items.size}`,
);
try {
  await api.reserve({ item: 'pen' });
} catch (error) {
  if (!PhoenixError.isInstance(error)) throw error;
  const remote = error.remote as unknown as { name: string; code: string; item: string; restockAt: Date };
  console.log(
    `typed error  -> ${error.code}: ${error.message} (${remote.name}, code ${remote.code}, item ${remote.item}, restock at a ${remote.restockAt.constructor.name})`,
  );
}

const decoder = new TextDecoder();
for (const [label, priority] of [
  ['normal', Priority.Normal],
  ['VIP', Priority.High],
] as const) {
  const echo = await client.call(ECHO, `hello from the ${label} lane`, priority, 5000);
  console.log(`1001 echo   ${label.padEnd(6)} -> "${decoder.decode(echo.payload)}" (seq ${echo.seqId})`);
  const empty = await client.call(EMPTY, 'ignored', priority, 5000);
  console.log(`1002 empty  ${label.padEnd(6)} -> ${empty.payloadLen} bytes (seq ${empty.seqId})`);
}

const rounds = 20_000;
const payload = new Uint8Array(16);
for (let i = 0; i < 2000; i++) await client.call(ECHO, payload);
const samples = new Float64Array(rounds);
for (let i = 0; i < rounds; i++) {
  const start = performance.now();
  await client.call(ECHO, payload);
  samples[i] = performance.now() - start;
}
samples.sort();
const micros = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
console.log(
  `round trip, 16 B, ${rounds} sequential calls: p50 ${micros(samples[rounds >> 1]!)}, p99 ${micros(samples[Math.floor(rounds * 0.99)]!)}`,
);

const tags = ['a', 'b'];
for (let i = 0; i < 2000; i++) await api.record({ id: i, name: 'x', tags });
for (let i = 0; i < rounds; i++) {
  const start = performance.now();
  await api.record({ id: i, name: 'x', tags });
  samples[i] = performance.now() - start;
}
samples.sort();
console.log(
  `typed round trip, { id, name, tags }, ${rounds} sequential calls: p50 ${micros(samples[rounds >> 1]!)}, p99 ${micros(samples[Math.floor(rounds * 0.99)]!)}`,
);

await client.disconnect();
server.stdin.write('stop\n');
const [code] = await serverExit;
clearTimeout(watchdog);
if (code !== 0) fail(`server exited with ${code}`);
console.log('demo finished');
