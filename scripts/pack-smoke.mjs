#!/usr/bin/env node
// Pack smoke test: installs the packages the way a user would and runs them.
// Over 400 lines on purpose: one script that CI runs as it is (nothing to
// build first), from packing every package to calls in ESM and CJS.
//
// Run after `pnpm build` (and, for the native addon, after
// `pnpm --filter @phoenix-ipc/native-shm run prebuild`); it builds nothing.
//
//  1. `pnpm pack` every package under packages/ into a temporary directory
//     (pnpm rewrites workspace:* to the real versions) and checks each
//     tarball: ESM, CJS and type entry points, README, LICENSE, no tests, no
//     workspace: specifiers, and for native-shm a prebuilt binary for this
//     platform.
//  2. Creates an empty project in os.tmpdir(), outside the workspace, and
//     installs the tarballs there with npm (plus prom-client), with CC=false
//     CXX=false so that compiling the addon from source would fail: the
//     prebuild must be what gets used.
//  3. Runs two tiny cluster-style programs there, one ESM (.mjs, import) and
//     one CommonJS (.cjs, require): each starts a server (1 normal worker,
//     0 VIP), calls echo from the supervisor and from an IpcClient in a child
//     process, checks the replies, scrapes @phoenix-ipc/server/prometheus,
//     stops the server and exits 0 on its own. Then the same for a typed
//     service (@phoenix-ipc/service), ESM and CommonJS: structured values
//     and a handler's error, from the supervisor and from a client process.
//  4. @phoenix-ipc/nats, in ESM and CommonJS: a server serves echo over NATS
//     through serveOverNats and a NatsCaller calls it, against a nats-server
//     started with @phoenix-ipc/nats/testing. Without a nats-server binary
//     only the imports are checked (a note says so), except under CI=1, where
//     a missing nats-server fails the smoke test (.ci/run installs it).
//  5. Type-checks an ESM and a CommonJS TypeScript file against the installed
//     declarations, and looks for the `phoenix` bin.
//
// Prints what it does; exits 1 on the first failure. The temporary directory
// and any segment it created are removed either way (--keep keeps the
// directory for a post-mortem).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = [
  'errors',
  'ringbuffer',
  'monitor',
  'shm-layout',
  'native-shm',
  'client',
  'server',
  'service',
  'nats',
  'cli',
];
const PROGRAM_TIMEOUT_MS = 60_000;
const keep = process.argv.includes('--keep');

const work = mkdtempSync(join(tmpdir(), 'phoenix-pack-smoke-'));
const tarballDir = join(work, 'tarballs');
const project = join(work, 'project');
const segments = [];
const started = Date.now();

function log(message) {
  console.log(`[pack-smoke] ${message}`);
}

class SmokeFailure extends Error {}

function fail(message) {
  throw new SmokeFailure(message);
}

/** Runs a command to completion; fails with its output if it exits non-zero. */
function run(command, args, options = {}) {
  const { replaceEnv = false, ...spawnOptions } = options;
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...spawnOptions,
    env: replaceEnv ? options.env : { ...process.env, ...options.env },
  });
  if (result.error) fail(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    fail(
      `${command} ${args.join(' ')} exited with ${result.status ?? result.signal}\n` +
        `${result.stdout ?? ''}${result.stderr ?? ''}`.trim(),
    );
  }
  return result.stdout;
}

/** The environment minus PHOENIX_IPC_WORKER: the programs must start as supervisors. */
function withoutWorkerRole(env) {
  const copy = { ...env };
  delete copy.PHOENIX_IPC_WORKER;
  return copy;
}

/** Runs a program of the temp project in its own process group, with a timeout. */
function runProgram(file, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], {
      cwd: project,
      detached: true, // its own process group: a timeout kills the workers too
      stdio: ['ignore', 'pipe', 'pipe'],
      env: withoutWorkerRole(process.env),
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new SmokeFailure(`${file} did not exit within ${PROGRAM_TIMEOUT_MS} ms\n${output}`));
    }, PROGRAM_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new SmokeFailure(`${file}: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new SmokeFailure(`${file} exited with ${code ?? signal}\n${output}`));
    });
  });
}

// ------------------------------------------------------------------ pack

function pack() {
  mkdirSync(tarballDir, { recursive: true });
  const tarballs = [];
  for (const name of PACKAGES) {
    const dir = join(ROOT, 'packages', name);
    if (!existsSync(join(dir, 'dist', distFiles(name)[0]))) {
      fail(`packages/${name}/dist is missing: run \`pnpm build\` before the pack smoke test`);
    }
    const before = new Set(readdirSync(tarballDir));
    run('pnpm', ['pack', '--pack-destination', tarballDir], { cwd: dir });
    const created = readdirSync(tarballDir).filter((file) => file.endsWith('.tgz') && !before.has(file));
    if (created.length !== 1) fail(`pnpm pack in packages/${name} produced ${created.length} tarballs`);
    const tarball = join(tarballDir, created[0]);
    checkTarball(name, tarball);
    tarballs.push(tarball);
  }
  return tarballs;
}

/** What a package's dist must hold: ESM, CJS and types per entry; the cli also its ESM bin. */
function distFiles(name) {
  const entries = name === 'client' ? ['index', 'internal'] : ['index'];
  const library = entries.flatMap((entry) => [`${entry}.js`, `${entry}.cjs`, `${entry}.d.ts`, `${entry}.d.cts`]);
  return name === 'cli' ? ['phoenix.js', ...library] : library;
}

function checkTarball(name, tarball) {
  const files = run('tar', ['-tzf', tarball])
    .split('\n')
    .filter(Boolean)
    .map((file) => file.replace(/^package\//, ''));
  const required = ['package.json', 'README.md', 'LICENSE', ...distFiles(name).map((file) => `dist/${file}`)];
  for (const file of required) {
    if (!files.includes(file)) fail(`@phoenix-ipc/${name}: the tarball lacks ${file}`);
  }
  const tests = files.filter(
    (file) => /(^|\/)(test|tests|__tests__)\//.test(file) || /\.(test|spec)\.[cm]?[jt]s$/.test(file),
  );
  if (tests.length > 0) fail(`@phoenix-ipc/${name}: the tarball ships tests: ${tests.join(', ')}`);
  const manifest = JSON.parse(run('tar', ['-xzOf', tarball, 'package/package.json']));
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith('workspace:')) {
        fail(`@phoenix-ipc/${name}: ${field}.${dependency} is still ${range} in the tarball`);
      }
    }
  }
  for (const field of ['license', 'repository', 'engines', 'keywords', 'homepage', 'bugs', 'files']) {
    if (manifest[field] === undefined) fail(`@phoenix-ipc/${name}: package.json has no "${field}"`);
  }
  let note = '';
  if (name === 'native-shm') {
    const prebuildDir = `prebuilds/${process.platform}-${process.arch}/`;
    const binaries = files.filter((file) => file.startsWith(prebuildDir) && file.endsWith('.node'));
    if (binaries.length === 0) {
      fail(
        `@phoenix-ipc/native-shm: the tarball has no ${prebuildDir}*.node; ` +
          'run `pnpm --filter @phoenix-ipc/native-shm run prebuild` before packing',
      );
    }
    note = `, ${binaries.join(', ')}`;
  }
  log(`packed @phoenix-ipc/${name}@${manifest.version}: ${files.length} files${note}`);
}

// --------------------------------------------------------------- install

function install(tarballs) {
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'phoenix-pack-smoke', version: '0.0.0', private: true }, null, 2)}\n`,
  );
  log(`npm install in ${project} (CC=false CXX=false: no compiler, the addon must come from the prebuild)`);
  // Like a user: none of the npm_* variables pnpm sets for its scripts.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', ...tarballs, 'prom-client'], {
    cwd: project,
    env: { ...env, CC: 'false', CXX: 'false', npm_config_build_from_source: 'false' },
    replaceEnv: true,
  });
  const native = join(project, 'node_modules', '@phoenix-ipc', 'native-shm');
  if (existsSync(join(native, 'build')))
    fail('npm built @phoenix-ipc/native-shm from source instead of using the prebuild');
  for (const name of PACKAGES) {
    if (!existsSync(join(project, 'node_modules', '@phoenix-ipc', name, 'package.json'))) {
      fail(`@phoenix-ipc/${name} is not in the project's node_modules`);
    }
  }
  log(`installed all ${PACKAGES.length} packages and prom-client; native-shm has no build/ (the prebuild is used)`);
}

// -------------------------------------------------------------- programs

// One program per module system. Cluster-style: run as `node file <segment>`
// it is the supervisor, and (started again by the supervisor, with
// PHOENIX_IPC_WORKER set) the worker; run as `node file client <segment>` it is
// the client process.
const ESM_PROGRAM = `import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IpcClient } from '@phoenix-ipc/client';
import { IpcServer, PhoenixError, Priority } from '@phoenix-ipc/server';

const ECHO = 1001;
const text = new TextDecoder();

if (process.argv[2] === 'client') {
  const client = IpcClient.create(process.argv[3]);
  await client.connect(10_000);
  const reply = await client.call(ECHO, 'hello from a client', Priority.Normal, 10_000);
  await client.disconnect();
  console.log(text.decode(reply.payload));
} else {
  const name = process.argv[2];
  const server = await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 });
  server.registerHandler(ECHO, (_header, payload, response, responsePayload) => {
    responsePayload.set(payload);
    response.payloadLen = payload.length;
  });
  await server.start();
  if (!server.isWorker) {
    try {
      const reply = await server.call(ECHO, 'hello from the supervisor', Priority.Normal, 10_000);
      if (text.decode(reply.payload) !== 'hello from the supervisor') throw new Error('supervisor: wrong echo');
      const fromClient = await new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'client', name], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error('client exited ' + code))));
      });
      if (fromClient !== 'hello from a client') throw new Error('client: wrong echo: ' + fromClient);
      const { registerPrometheusMetrics } = await import('@phoenix-ipc/server/prometheus');
      const { registry } = registerPrometheusMetrics(server);
      if (!(await registry.metrics()).includes('phoenix_worker_up')) throw new Error('prometheus: no phoenix_worker_up');
      if (!PhoenixError.isInstance(new PhoenixError('ERR_PHOENIX_TIMEOUT', 'x'))) throw new Error('PhoenixError brand');
      console.log('esm: supervisor echo ok, client process echo ok, prometheus ok');
    } finally {
      await server.stop();
    }
  }
}
`;

const CJS_PROGRAM = `'use strict';
const { spawn } = require('node:child_process');
const { IpcClient } = require('@phoenix-ipc/client');
const { IpcServer, Priority } = require('@phoenix-ipc/server');

const ECHO = 1001;
const text = new TextDecoder();

async function client(name) {
  const client = IpcClient.create(name);
  await client.connect(10_000);
  const reply = await client.call(ECHO, 'hello from a client', Priority.Normal, 10_000);
  await client.disconnect();
  console.log(text.decode(reply.payload));
}

async function main(name) {
  const server = await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 });
  server.registerHandler(ECHO, (_header, payload, response, responsePayload) => {
    responsePayload.set(payload);
    response.payloadLen = payload.length;
  });
  await server.start();
  if (server.isWorker) return;
  try {
    const reply = await server.call(ECHO, 'hello from the supervisor', Priority.Normal, 10_000);
    if (text.decode(reply.payload) !== 'hello from the supervisor') throw new Error('supervisor: wrong echo');
    const fromClient = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [__filename, 'client', name], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error('client exited ' + code))));
    });
    if (fromClient !== 'hello from a client') throw new Error('client: wrong echo: ' + fromClient);
    require.resolve('@phoenix-ipc/server/prometheus');
    const { registerPrometheusMetrics } = require('@phoenix-ipc/server/prometheus');
    const { registry } = registerPrometheusMetrics(server);
    if (!(await registry.metrics()).includes('phoenix_worker_up')) throw new Error('prometheus: no phoenix_worker_up');
    console.log('cjs: supervisor echo ok, client process echo ok, prometheus ok');
  } finally {
    await server.stop();
  }
}

const done = process.argv[2] === 'client' ? client(process.argv[3]) : main(process.argv[2]);
done.catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

// A typed service, cluster-style like the programs above; __IMPORTS__ is
// filled in per module system. Values of every kind and a handler's error
// travel from the supervisor and from a client process.
const SERVICE_BODY = `
const shop = defineService('shop', { quote: 1001, refuse: 1002 });

async function callShop(caller) {
  const api = shop.bind(caller);
  const input = { when: new Date(5), lines: new Map([['pen', 2n ** 70n]]), data: new Uint8Array([1, 2, 3]), none: undefined };
  const quote = await api.quote(input, { timeoutMs: 10_000 });
  if (!(quote.when instanceof Date) || quote.when.getTime() !== 5) throw new Error('quote: Date lost');
  if (!(quote.lines instanceof Map) || quote.lines.get('pen') !== 2n ** 70n) throw new Error('quote: Map or BigInt lost');
  if (!(quote.data instanceof Uint8Array) || quote.data.join() !== '1,2,3' || !('none' in quote)) throw new Error('quote: bytes or undefined lost');
  const error = await api.refuse().then(() => null, (e) => e);
  if (!PhoenixError.isInstance(error) || error.code !== 'ERR_PHOENIX_HANDLER_FAILED') throw new Error('refuse: wrong error ' + error);
  if (error.remote.code !== 'E_CLOSED' || !(error.remote.until instanceof Date)) throw new Error('refuse: remote lost');
  return 'ok';
}

async function main(role, name) {
  if (role === 'client') {
    const client = IpcClient.create(name);
    await client.connect(10_000);
    try {
      console.log(await callShop(client));
    } finally {
      await client.disconnect();
    }
    return;
  }
  const server = await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 });
  implement(server, shop, {
    quote: (input) => input,
    refuse: () => {
      throw Object.assign(new Error('closed'), { code: 'E_CLOSED', until: new Date(0) });
    },
  });
  await server.start();
  if (server.isWorker) return;
  try {
    await callShop(server);
    const fromClient = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [SELF, 'client', name], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error('client exited ' + code))));
    });
    if (fromClient !== 'ok') throw new Error('client: ' + fromClient);
    console.log(MODULES + ': typed service from the supervisor ok, from a client process ok');
  } finally {
    await server.stop();
  }
}

const [first, second] = process.argv.slice(2);
main(first === 'client' ? 'client' : 'server', first === 'client' ? second : first).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const SERVICE_ESM_PROGRAM = `import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IpcClient } from '@phoenix-ipc/client';
import { IpcServer } from '@phoenix-ipc/server';
import { defineService, implement, PhoenixError } from '@phoenix-ipc/service';
const SELF = fileURLToPath(import.meta.url);
const MODULES = 'esm';
${SERVICE_BODY}`;

const SERVICE_CJS_PROGRAM = `'use strict';
const { spawn } = require('node:child_process');
const { IpcClient } = require('@phoenix-ipc/client');
const { IpcServer } = require('@phoenix-ipc/server');
const { defineService, implement, PhoenixError } = require('@phoenix-ipc/service');
const SELF = __filename;
const MODULES = 'cjs';
${SERVICE_BODY}`;

// @phoenix-ipc/nats: cluster-style again; the supervisor starts a nats-server
// (@phoenix-ipc/nats/testing), serves echo over it and calls it through a
// NatsCaller. With PHOENIX_SMOKE_NATS=0 (no nats-server here) it checks the
// exports only.
const NATS_ESM_PROGRAM = `import { IpcServer, PhoenixError } from '@phoenix-ipc/server';
import { NatsCaller, serveOverNats, WIRE_VERSION } from '@phoenix-ipc/nats';
import { NatsServer } from '@phoenix-ipc/nats/testing';

const server = await IpcServer.create(process.argv[2], { normalWorkers: 1, vipWorkers: 0, maxClients: 1 });
server.registerHandler(1001, (_header, payload) => payload.slice());
await server.start();
if (!server.isWorker) {
  let nats = null;
  try {
    if (typeof serveOverNats !== 'function' || typeof NatsCaller.connect !== 'function' || WIRE_VERSION !== '1') {
      throw new Error('@phoenix-ipc/nats exports are wrong');
    }
    if (process.env.PHOENIX_SMOKE_NATS === '0') {
      console.log('esm nats: imports ok (no nats-server here: no call made)');
    } else {
      nats = await NatsServer.start();
      const bridge = await serveOverNats(server, { servers: nats.url }, { service: 'smoke' });
      const caller = await NatsCaller.connect({ servers: nats.url }, 'smoke', { defaultTimeoutMs: 10_000 });
      const reply = await caller.call(1001, 'hello over NATS');
      if (!Buffer.isBuffer(reply.payload) || reply.payload.toString() !== 'hello over NATS') throw new Error('nats: wrong echo');
      const error = await caller.call(1999, 'x').catch((e) => e);
      if (!PhoenixError.isInstance(error) || error.code !== 'ERR_PHOENIX_NO_HANDLER') throw new Error('nats: no NO_HANDLER');
      await caller.close();
      await bridge.stop();
      console.log('esm nats: echo over NATS ok, NO_HANDLER ok, stats ' + JSON.stringify(bridge.stats()));
    }
  } finally {
    await nats?.stop();
    await server.stop();
  }
}
`;

const NATS_CJS_PROGRAM = `'use strict';
const { IpcServer } = require('@phoenix-ipc/server');
const { NatsCaller, serveOverNats } = require('@phoenix-ipc/nats');
const { NatsServer } = require('@phoenix-ipc/nats/testing');

async function main(name) {
  const server = await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1 });
  server.registerHandler(1001, (_header, payload) => payload.slice());
  await server.start();
  if (server.isWorker) return;
  let nats = null;
  try {
    if (process.env.PHOENIX_SMOKE_NATS === '0') {
      if (typeof serveOverNats !== 'function' || typeof NatsServer.start !== 'function') throw new Error('bad exports');
      console.log('cjs nats: imports ok (no nats-server here: no call made)');
      return;
    }
    nats = await NatsServer.start();
    const bridge = await serveOverNats(server, { servers: nats.url }, { service: 'smoke' });
    const caller = await NatsCaller.connect({ servers: nats.url }, 'smoke', { defaultTimeoutMs: 10_000 });
    const reply = await caller.call(1001, 'hello over NATS');
    if (reply.payload.toString() !== 'hello over NATS') throw new Error('nats: wrong echo');
    await caller.close();
    await bridge.stop();
    console.log('cjs nats: echo over NATS ok, stats ' + JSON.stringify(bridge.stats()));
  } finally {
    if (nats !== null) await nats.stop();
    await server.stop();
  }
}

main(process.argv[2]).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

// Type-checked, never run: the declarations resolve for import and require.
const ESM_TYPES = `import { IpcClient } from '@phoenix-ipc/client';
import { defineService } from '@phoenix-ipc/service';
import { type PhoenixError, IpcServer, Priority, type Reply } from '@phoenix-ipc/server';
import { registerPrometheusMetrics } from '@phoenix-ipc/server/prometheus';
import { SpscRingBuffer } from '@phoenix-ipc/ringbuffer';
import { ThreadMonitor } from '@phoenix-ipc/monitor';
import { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { SharedSegment } from '@phoenix-ipc/native-shm';
import { type BridgeStats, NatsCaller, serveOverNats } from '@phoenix-ipc/nats';
import { NatsServer } from '@phoenix-ipc/nats/testing';

export async function check(): Promise<void> {
  const server = await IpcServer.create('/typed', { normalWorkers: 1 });
  server.registerHandler(1001, (_h, payload, response, out) => {
    out.set(payload);
    response.payloadLen = payload.length;
  });
  const reply: Reply = await server.call(1001, 'x', Priority.High, 1000);
  const bytes: Uint8Array = reply.payload;
  const client: IpcClient = IpcClient.create('/typed');
  const error: PhoenixError['code'] = 'ERR_PHOENIX_TIMEOUT';
  const size: number = PhoenixShmLayout.requiredSize({}) + SpscRingBuffer.requiredBytes({ capacity: 2, maxMessageSize: 8 });
  void [bytes, client, error, size, ThreadMonitor.BYTES, SharedSegment, registerPrometheusMetrics(server).registry];
  const api = defineService<{ add(input: { a: number; b: number }): number }>('calc', { add: 1001 }).bind(client);
  const sum: number = await api.add({ a: 1, b: 2 }, { timeoutMs: 100 });
  void sum;
  const nats = await NatsServer.start();
  const bridge = await serveOverNats(server, { servers: nats.url }, { service: 'typed', maxInFlight: 8 });
  const stats: BridgeStats = bridge.stats();
  const caller = await NatsCaller.connect({ servers: nats.url }, 'typed', { defaultTimeoutMs: 1000 });
  const remote: Buffer = (await caller.call(1001, 'x', { priority: Priority.High, timeoutMs: 500 })).payload;
  void [stats, remote];
}
`;

const CJS_TYPES = `import server = require('@phoenix-ipc/server');
import client = require('@phoenix-ipc/client');
import prometheus = require('@phoenix-ipc/server/prometheus');
import service = require('@phoenix-ipc/service');
import nats = require('@phoenix-ipc/nats');
import testing = require('@phoenix-ipc/nats/testing');

export async function check(): Promise<number> {
  const s = await server.IpcServer.create('/typed');
  const c: client.IpcClient = client.IpcClient.create('/typed');
  void [c, prometheus.registerPrometheusMetrics(s)];
  const reply: server.Reply = await s.call(1001, 'x', server.Priority.Normal);
  const api = service.defineService<{ twice(input: number): number }>('calc', { twice: 1001 }).bind(s);
  const twice: number = await api.twice(2);
  const caller = await nats.NatsCaller.connect({ servers: (await testing.NatsServer.start()).url }, 'typed');
  const remote: nats.NatsReply = await caller.callAsync(1001, 'x', { timeoutMs: 100 });
  return reply.payloadLen + twice + remote.payloadLen;
}
`;

/** Where nats-server is (NATS_SERVER_BIN, PATH, /usr/sbin...), or null; like @phoenix-ipc/nats/testing's search. */
function natsServerBinary() {
  const configured = process.env.NATS_SERVER_BIN;
  if (configured) return existsSync(configured) ? configured : null;
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/local/bin',
    '/opt/homebrew/bin',
  ];
  for (const dir of dirs.filter(Boolean)) if (existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  return null;
}

async function programs() {
  writeFileSync(join(project, 'smoke.mjs'), ESM_PROGRAM);
  writeFileSync(join(project, 'smoke.cjs'), CJS_PROGRAM);
  writeFileSync(join(project, 'service.mjs'), SERVICE_ESM_PROGRAM);
  writeFileSync(join(project, 'service.cjs'), SERVICE_CJS_PROGRAM);
  writeFileSync(join(project, 'nats-smoke.mjs'), NATS_ESM_PROGRAM);
  writeFileSync(join(project, 'nats-smoke.cjs'), NATS_CJS_PROGRAM);
  const natsServer = natsServerBinary();
  if (natsServer === null) {
    if (process.env.CI)
      fail(
        'CI=1 and no nats-server (NATS_SERVER_BIN, PATH, /usr/sbin): .ci/run installs it; see scripts/install-nats-server.sh',
      );
    log(
      'note: no nats-server on this machine: @phoenix-ipc/nats is imported but makes no call (scripts/install-nats-server.sh)',
    );
  } else {
    log(`nats-server: ${natsServer}`);
  }
  process.env.PHOENIX_SMOKE_NATS = natsServer === null ? '0' : '1';
  for (const [file, label] of [
    ['smoke.mjs', 'esm'],
    ['smoke.cjs', 'cjs'],
    ['service.mjs', 'service-esm'],
    ['service.cjs', 'service-cjs'],
    ['nats-smoke.mjs', 'nats-esm'],
    ['nats-smoke.cjs', 'nats-cjs'],
  ]) {
    const segment = `/phoenix-pack-smoke-${process.pid}-${label}`;
    segments.push(segment);
    const at = Date.now();
    const output = await runProgram(join(project, file), [segment]);
    log(`${file}: ${output.trim().split('\n').join(' | ')} (${Date.now() - at} ms, exited 0)`);
    if (process.platform === 'linux' && existsSync(`/dev/shm${segment}`)) {
      fail(`${file} exited but its segment /dev/shm${segment} is still there`);
    }
  }
}

function types() {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) {
    log('note: no typescript in the workspace; declarations not checked');
    return;
  }
  writeFileSync(join(project, 'types-esm.mts'), ESM_TYPES);
  writeFileSync(join(project, 'types-cjs.cts'), CJS_TYPES);
  writeFileSync(
    join(project, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['types-esm.mts', 'types-cjs.cts'],
      },
      null,
      2,
    )}\n`,
  );
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
  log('types: an ESM (.mts) and a CommonJS (.cts) file type-check against the installed declarations');
}

function bin() {
  const phoenix = join(project, 'node_modules', '.bin', 'phoenix');
  if (!existsSync(phoenix)) fail('@phoenix-ipc/cli installed no node_modules/.bin/phoenix');
  const version = run(phoenix, ['--version'], { cwd: project }).trim();
  const listed = JSON.parse(run(phoenix, ['list', '--json', '--prefix', 'phoenix-pack-smoke-none'], { cwd: project }));
  log(`bin: node_modules/.bin/phoenix --version -> ${version}; list --json -> ${JSON.stringify(listed)}`);
  // The same command as a function, from both module systems.
  const asFunction = (loader) =>
    `${loader}.then((cli) => cli.main(['--version'], { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), isTTY: false })).then((code) => { process.exitCode = code; })`;
  const fromEsm = run(process.execPath, ['--input-type=module', '-e', asFunction("import('@phoenix-ipc/cli')")], {
    cwd: project,
  }).trim();
  const fromCjs = run(process.execPath, ['-e', asFunction("Promise.resolve(require('@phoenix-ipc/cli'))")], {
    cwd: project,
  }).trim();
  if (fromEsm !== version || fromCjs !== version) fail(`cli main(): ESM ${fromEsm}, CJS ${fromCjs}, bin ${version}`);
  log(`cli main(['--version']): ESM and CJS -> ${version}`);
}

// ------------------------------------------------------------------ main

function cleanup() {
  for (const segment of segments) {
    if (process.platform === 'linux' && existsSync(`/dev/shm${segment}`)) {
      rmSync(`/dev/shm${segment}`, { force: true });
      log(`removed leftover segment ${segment}`);
    }
  }
  if (keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

let status = 0;
try {
  log(`node ${process.version}, ${process.platform}-${process.arch}; working in ${work}`);
  const tarballs = pack();
  install(tarballs);
  await programs();
  types();
  bin();
  log(`PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  status = 1;
  console.error(`[pack-smoke] FAIL: ${error instanceof SmokeFailure ? error.message : (error?.stack ?? error)}`);
} finally {
  cleanup();
}
process.exit(status);
