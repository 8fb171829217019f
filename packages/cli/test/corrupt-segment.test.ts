import { readFileSync, writeFileSync } from 'node:fs';
import { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { mulberry32 } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../../server/test/harness.js';
import { phoenix } from './run-phoenix.js';

// Seeded: PHOENIX_FUZZ_SEED replays a run; the seed is in the test's name.
const SEED = Number(process.env.PHOENIX_FUZZ_SEED ?? 0x5eed);
const COPIES = 16;

const harness = new Harness();
afterEach(() => harness.cleanup());

/** Copies of `original` with 1 to 16 bytes overwritten, mostly in its header and records (where phoenix reads). */
function damagedCopies(original: Buffer, structuresEnd: number): Buffer[] {
  const next = mulberry32(SEED);
  return Array.from({ length: COPIES }, () => {
    const bytes = Buffer.from(original);
    for (let writes = 1 + Math.floor(next() * 16); writes > 0; writes--) {
      const end = next() < 0.8 ? structuresEnd : bytes.length;
      bytes[Math.floor(next() * end)] = Math.floor(next() * 256);
    }
    return bytes;
  });
}

describe('phoenix on segments a broken peer wrote garbage into', () => {
  it(`inspect and list report or refuse each one, never crash, and change nothing (seed ${SEED})`, async () => {
    const source = harness.name('cli-fuzz-source');
    const cluster = harness.cluster(source, { normalWorkers: 2, vipWorkers: 1, maxClients: 2 });
    await cluster.waitFor('ready');
    const original = readFileSync(`/dev/shm${source}`);
    const layout = PhoenixShmLayout.attach(new Uint8Array(original).buffer);
    const copies = damagedCopies(original, layout.geometry.ringsOffset).map((bytes) => {
      const name = harness.name('cli-fuzz');
      writeFileSync(`/dev/shm${name}`, bytes);
      return { name, bytes };
    });

    let inspected = 0;
    for (const { name, bytes } of copies) {
      const run = await phoenix(['inspect', name, '--json']);
      expect(run.signal).toBeNull();
      expect([0, 1]).toContain(run.code);
      expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace: a refusal is a message
      const doc = JSON.parse(run.stdout) as { name?: string; error?: string };
      if (run.code === 0) {
        expect(doc.name).toBe(name);
        inspected++;
      } else expect(doc.error).toEqual(expect.any(String));
      // Mapped read-only and copy-on-write: the file is as it was.
      expect(readFileSync(`/dev/shm${name}`).equals(bytes)).toBe(true);
    }
    // Most damage lands in records phoenix shows rather than in the checksummed header.
    expect(inspected).toBeGreaterThan(0);

    const list = await phoenix(['list', '--prefix', source.slice(1, source.indexOf('cli-fuzz')), '--json']);
    expect(list.code).toBe(0);
    const listed = (JSON.parse(list.stdout) as { segments: { name: string }[] }).segments.map((entry) => entry.name);
    for (const { name } of copies) expect(listed).toContain(name);
  }, 120_000);
});
