/**
 * The quick start, end to end: starts the server (4 normal + 2 VIP workers)
 * as its own process, connects to it from this client process, calls the echo
 * (1001) and empty (1002) handlers with normal and VIP priority, measures the
 * round trip, then stops the server and exits 0.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { IpcClient, Priority } from '@phoenix-ipc/client';

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

await client.disconnect();
server.stdin.write('stop\n');
const [code] = await serverExit;
clearTimeout(watchdog);
if (code !== 0) fail(`server exited with ${code}`);
console.log('demo finished');
