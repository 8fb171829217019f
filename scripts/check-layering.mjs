#!/usr/bin/env node
// Fails when a package depends on (or imports) a package above it.
// errors -> ringbuffer -> monitor -> shm-layout -> client -> server, then the
// top layers service (typed values) and nats (beyond one host), which nothing
// below imports; service never imports nats (its tests may). errors (the one
// catalogue, PhoenixError) is the bottom, usable by all. native-shm uses only
// errors, and only client, server and cli may use native-shm at run time.
// cli (the `phoenix` command) reads segments: it sits beside client, on
// shm-layout and native-shm, and nothing imports it. Its tests start real
// servers. Apps may use anything.
// Tests (test/ and devDependencies) of the pure packages may also use
// native-shm as a harness, to map one ring into two real processes; tests of
// @phoenix-ipc/service may use nats (its nats-server test helper, typed calls
// over NATS). Every package's tests may use the private test kit
// (@phoenix-ipc/test-kit: waits, seeded randomness, PhoenixError checks,
// process harnesses), which itself uses only errors; so errors' own tests may
// not (that would be a cycle).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ALLOWED = {
  // The private test kit uses only the bottom package (expectPhoenixError needs
  // PhoenixError), so the tests of every package above errors may use it.
  '@phoenix-ipc/test-kit': ['@phoenix-ipc/errors'],
  '@phoenix-ipc/errors': [],
  '@phoenix-ipc/ringbuffer': ['@phoenix-ipc/errors'],
  '@phoenix-ipc/monitor': ['@phoenix-ipc/errors', '@phoenix-ipc/ringbuffer'],
  '@phoenix-ipc/shm-layout': ['@phoenix-ipc/errors', '@phoenix-ipc/ringbuffer', '@phoenix-ipc/monitor'],
  '@phoenix-ipc/native-shm': ['@phoenix-ipc/errors'],
  '@phoenix-ipc/client': [
    '@phoenix-ipc/errors',
    '@phoenix-ipc/ringbuffer',
    '@phoenix-ipc/monitor',
    '@phoenix-ipc/shm-layout',
    '@phoenix-ipc/native-shm',
  ],
  '@phoenix-ipc/server': [
    '@phoenix-ipc/errors',
    '@phoenix-ipc/ringbuffer',
    '@phoenix-ipc/monitor',
    '@phoenix-ipc/shm-layout',
    '@phoenix-ipc/native-shm',
    '@phoenix-ipc/client',
  ],
  // The phoenix command: reads and cleans segments; no client or server code.
  '@phoenix-ipc/cli': [
    '@phoenix-ipc/errors',
    '@phoenix-ipc/ringbuffer',
    '@phoenix-ipc/monitor',
    '@phoenix-ipc/shm-layout',
    '@phoenix-ipc/native-shm',
  ],
  // Typed services: values over any caller. Never the nats package (which may use it).
  '@phoenix-ipc/service': [
    '@phoenix-ipc/errors',
    '@phoenix-ipc/ringbuffer',
    '@phoenix-ipc/monitor',
    '@phoenix-ipc/shm-layout',
    '@phoenix-ipc/client',
    '@phoenix-ipc/server',
  ],
  '@phoenix-ipc/nats': [
    '@phoenix-ipc/errors',
    '@phoenix-ipc/ringbuffer',
    '@phoenix-ipc/monitor',
    '@phoenix-ipc/shm-layout',
    '@phoenix-ipc/client',
    '@phoenix-ipc/server',
  ],
};

/** What a package's tests (test/, devDependencies) may use beyond its layer and the harness. */
const TEST_ONLY = {
  // The CLI is tried against live supervisors and clients.
  '@phoenix-ipc/cli': ['@phoenix-ipc/server'],
  '@phoenix-ipc/service': ['@phoenix-ipc/nats'],
};

const HARNESS = ['@phoenix-ipc/native-shm', '@phoenix-ipc/test-kit'];
const problems = [];
// errors is below the test kit: its tests using the kit would make a cycle.
const NO_HARNESS = new Set(['@phoenix-ipc/errors', '@phoenix-ipc/test-kit']);
const importPattern = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"](@phoenix-ipc\/[a-z-]+)/g;

function sourceFiles(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (entry === 'node_modules' || entry === 'dist' || entry === 'build') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (/\.(c|m)?[jt]sx?$/.test(entry)) out.push(path);
  }
  return out;
}

for (const folder of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', folder);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const allowed = ALLOWED[pkg.name];
  if (!allowed) {
    problems.push(`${pkg.name}: not in the layering table (scripts/check-layering.mjs)`);
    continue;
  }
  const harness = NO_HARNESS.has(pkg.name) ? [] : HARNESS;
  const testAllowed = [...allowed, ...harness, ...(TEST_ONLY[pkg.name] ?? [])];
  const runtime = { ...pkg.dependencies, ...pkg.peerDependencies };
  for (const dep of Object.keys(runtime)) {
    if (dep.startsWith('@phoenix-ipc/') && !allowed.includes(dep)) {
      problems.push(`${pkg.name} depends on ${dep}, a package above it or beside it`);
    }
  }
  for (const dep of Object.keys(pkg.devDependencies ?? {})) {
    if (dep.startsWith('@phoenix-ipc/') && !testAllowed.includes(dep)) {
      problems.push(`${pkg.name} has a dev dependency on ${dep}, a package above it`);
    }
  }
  const files = [
    ...sourceFiles(join(dir, 'src')).map((file) => [file, allowed]),
    ...sourceFiles(join(dir, 'test')).map((file) => [file, testAllowed]),
    ...sourceFiles(join(dir, 'bench')).map((file) => [file, testAllowed]),
  ];
  for (const [file, permitted] of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(importPattern)) {
      const target = match[1];
      if (target !== pkg.name && !permitted.includes(target)) {
        problems.push(`${relative(root, file)} imports ${target}, which ${pkg.name} must not use`);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`layering check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(
  'layering check: ok (errors -> ringbuffer -> monitor -> shm-layout -> client -> server -> service, nats; native-shm under client/server/cli; cli beside client)',
);
