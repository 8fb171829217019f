import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const distCjs = fileURLToPath(new URL('../dist/index.cjs', import.meta.url));

function importAs(platform: string, entry: string, loader: 'import' | 'require'): string {
  const script =
    `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });` +
    (loader === 'import'
      ? `import(${JSON.stringify(entry)}).then(() => console.log('loaded'), (e) => console.log(e.code));`
      : `try { require(${JSON.stringify(entry)}); console.log('loaded'); } catch (e) { console.log(e.code); }`);
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  return run.stdout.trim();
}

describe('platforms', () => {
  it('refuses to load on Windows with ERR_PHOENIX_UNSUPPORTED_PLATFORM (ESM and CJS), not a crash', () => {
    expect(importAs('win32', dist, 'import')).toBe('ERR_PHOENIX_UNSUPPORTED_PLATFORM');
    expect(importAs('win32', distCjs, 'require')).toBe('ERR_PHOENIX_UNSUPPORTED_PLATFORM');
  });

  it('loads on Linux', () => {
    expect(importAs('linux', dist, 'import')).toBe('loaded');
    expect(importAs('linux', distCjs, 'require')).toBe('loaded');
  });
});
