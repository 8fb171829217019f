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
// Every file of a package is read (src/ against its layer, the rest against
// its tests' allowance), and a relative import that lands in another
// package's folder counts as importing that package; one that leaves
// packages/ is refused.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

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
// A relative import that leaves its package reaches another package's files as surely as its name does.
const relativePattern = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]*)['"]/g;
/** Folders of a package that are not its code (built output, installs, native build products). */
const NOT_CODE = new Set(['node_modules', 'dist', 'build', 'prebuilds']);

function sourceFiles(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (NOT_CODE.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path));
    else if (/\.(c|m)?[jt]sx?$/.test(entry)) out.push(path);
  }
  return out;
}

const packagesDir = join(root, 'packages');
/** Package name by folder, to name the package a relative import lands in. */
const nameByFolder = new Map(
  readdirSync(packagesDir).map((folder) => [
    folder,
    JSON.parse(readFileSync(join(packagesDir, folder, 'package.json'), 'utf8')).name,
  ]),
);

/** The package a relative import from `file` lands in: its own name, another's, or null outside packages/. */
function packageOfRelative(file, specifier) {
  const target = relative(packagesDir, resolve(dirname(file), specifier));
  if (target.startsWith('..')) return null;
  return nameByFolder.get(target.split(sep)[0]) ?? null;
}

for (const folder of readdirSync(packagesDir)) {
  const dir = join(packagesDir, folder);
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
  // src/ is the package's code; everything else in it (tests, fixtures, benches, scripts, config) is held to
  // what its tests may use.
  const srcDir = join(dir, 'src');
  const files = sourceFiles(dir).map((file) => [file, file.startsWith(srcDir + sep) ? allowed : testAllowed]);
  for (const [file, permitted] of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(importPattern)].map((match) => [match[1], match[1]]);
    for (const match of text.matchAll(relativePattern)) {
      const landing = packageOfRelative(file, match[1]);
      if (landing === null) problems.push(`${relative(root, file)} imports ${match[1]}, outside packages/`);
      else targets.push([landing, match[1]]);
    }
    for (const [target, specifier] of targets) {
      if (target !== pkg.name && !permitted.includes(target)) {
        const how = specifier === target ? target : `${target} (through ${specifier})`;
        problems.push(`${relative(root, file)} imports ${how}, which ${pkg.name} must not use`);
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
