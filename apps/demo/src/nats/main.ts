/**
 * pnpm demo:nats — the same handlers served over NATS by two PhoenixIPC
 * servers, standing in for two hosts:
 *
 *   caller (this process) ──NATS request──▶ nats-server ──queue group "demo"──▶ host-a | host-b
 *                                                                              (supervisor + 2 workers each)
 *
 * Starts a nats-server on a free loopback port, two hosts (dist/nats/host.js)
 * and a NatsCaller here; prints which host answered each call, shows a
 * handler's error crossing the wire, lets host-a leave (bridge.stop()) and
 * shows host-b taking every call, then stops everything and exits 0.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { NatsCaller, PhoenixError } from '@phoenix-ipc/nats';
import { NatsServer } from '@phoenix-ipc/nats/testing';
import { REFUSES, SERVICE, WHO } from './protocol.js';

type HostProcess = ChildProcessByStdio<Writable, Readable, null>;

const hostScript = fileURLToPath(new URL('./host.js', import.meta.url));
const decoder = new TextDecoder();
const hosts = new Map<string, HostProcess>();
let nats: NatsServer | null = null;

function fail(message: string): never {
  console.error(`demo:nats failed: ${message}`);
  for (const host of hosts.values()) host.kill('SIGKILL');
  void nats?.stop();
  process.exit(1);
}
const watchdog = setTimeout(() => fail('timed out after 60 s'), 60_000);

/** Starts a host and resolves once it serves; prefixes what it prints with [tag]. */
async function startHost(tag: string, url: string): Promise<HostProcess> {
  const segment = `/phoenix_demo_nats_${tag}_${process.pid}`;
  const child = spawn(process.execPath, [hostScript, segment, url, tag], { stdio: ['pipe', 'pipe', 'inherit'] });
  hosts.set(tag, child);
  child.stdout.setEncoding('utf8');
  let buffered = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${tag} exited (${code}) before it served`)));
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        console.log(`[${tag}] ${line}`);
        if (line.includes('"ready"')) resolve();
      }
    });
  });
  await ready;
  return child;
}

try {
  nats = await NatsServer.start();
} catch (error) {
  fail((error as Error).message); // names the way to install nats-server
}
console.log(`nats-server (pid ${nats.pid}) on ${nats.url}`);
await Promise.all([startHost('host-a', nats.url), startHost('host-b', nats.url)]);

const caller = await NatsCaller.connect({ servers: nats.url }, SERVICE, { defaultTimeoutMs: 5000 });
console.log(`caller pid ${process.pid}: service "${SERVICE}" over ${nats.url}`);

/** At least `calls` calls, and until `hostsWanted` hosts answered (NATS picks one at random each time). */
async function round(label: string, calls: number, hostsWanted = 1): Promise<Map<string, number>> {
  const answered = new Map<string, number>();
  for (let i = 1; i <= calls || (answered.size < hostsWanted && i <= 200); i++) {
    const reply = await caller.call(WHO, `${label} #${i}`);
    const text = decoder.decode(reply.payload);
    const host = text.slice(0, text.indexOf(' '));
    answered.set(host, (answered.get(host) ?? 0) + 1);
    console.log(`call ${label} #${i} -> answered by ${text}`);
  }
  return answered;
}

const summary = (answered: Map<string, number>) =>
  [...answered.entries()]
    .sort()
    .map(([host, count]) => `${host} ${count}`)
    .join(', ');

const both = await round('both hosts', 8, 2);
console.log(`answered by: ${summary(both)}`);

const error = await caller.call(REFUSES, 'please').catch((e: unknown) => e);
if (!PhoenixError.isInstance(error)) fail('the refusing handler did not fail');
console.log(`a handler's error crosses the wire: ${error.code} "${error.message}" (remoteName ${error.remoteName})`);

console.log('host-a leaves: bridge.stop() drains it, then its server stops');
const hostA = hosts.get('host-a')!;
const hostAExit = once(hostA, 'exit');
hostA.stdin.write('stop\n');
await hostAExit;
hosts.delete('host-a');
const after = await round('host-a gone', 6);
console.log(`answered by: ${summary(after)}`);
if (after.has('host-a')) fail('host-a answered after it left');

await caller.close();
const hostB = hosts.get('host-b')!;
const hostBExit = once(hostB, 'exit');
hostB.stdin.write('stop\n');
const [code] = await hostBExit;
hosts.delete('host-b');
await nats.stop();
clearTimeout(watchdog);
if (code !== 0) fail(`host-b exited with ${code}`);
console.log('demo:nats finished');
