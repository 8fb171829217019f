#!/usr/bin/env node
// Fails when a package depends on (or imports) a package above it.
// ringbuffer -> monitor -> shm-layout -> client -> server; native-shm is a leaf
// that only client and server may use. Apps may use anything.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ALLOWED = {
  '@phoenix-ipc/ringbuffer': [],
  '@phoenix-ipc/monitor': ['@phoenix-ipc/ringbuffer'],
  '@phoenix-ipc/shm-layout': ['@phoenix-ipc/ringbuffer', '@phoenix-ipc/monitor'],
  '@phoenix-ipc/native-shm': [],
  '@phoenix-ipc/client': [
    '@phoenix-ipc/ringbuffer',
    '@phoenix-ipc/monitor',
    '@phoenix-ipc/shm-layout',
    '@phoenix-ipc/native-shm',
  ],
  '@phoenix-ipc/server': [
    '@phoenix-ipc/ringbuffer',
    '@phoenix-ipc/monitor',
    '@phoenix-ipc/shm-layout',
    '@phoenix-ipc/native-shm',
    '@phoenix-ipc/client',
  ],
};

const problems = [];
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
  const declared = { ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies };
  for (const dep of Object.keys(declared)) {
    if (dep.startsWith('@phoenix-ipc/') && !allowed.includes(dep)) {
      problems.push(`${pkg.name} depends on ${dep}, a package above it or beside it`);
    }
  }
  for (const file of [...sourceFiles(join(dir, 'src')), ...sourceFiles(join(dir, 'test'))]) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(importPattern)) {
      const target = match[1];
      if (target !== pkg.name && !allowed.includes(target)) {
        problems.push(`${relative(root, file)} imports ${target}, which ${pkg.name} must not use`);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`layering check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('layering check: ok (ringbuffer -> monitor -> shm-layout -> client -> server; native-shm under client/server)');
