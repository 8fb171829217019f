/**
 * Garbage over a segment header: attach() must either throw a PhoenixError
 * with code ERR_PHOENIX_BAD_SEGMENT or, when the garbage only touched words
 * it neither checksums nor validates, succeed with the very same options.
 * Seeded (mulberry32), so a failure names a reproducible trial.
 */

import { mulberry32Words } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import { type LayoutGeometry, PhoenixError, PhoenixShmLayout, SegmentDescriptor } from '../src/index.js';
import { fixChecksum, headerWords, makeLayout } from './helpers.js';

const S = SegmentDescriptor;
const HEADER_WORDS = S.SEGMENT_HEADER_BYTES >> 2;
/** Words 0..30: magic, version, the checksummed configuration/geometry/identity, the checksum. */
const VALIDATED_WORDS = (S.HEADER_CHECKSUM_OFFSET >> 2) + 1;

/** attach(), classifying the result: BAD_SEGMENT, or attached with exactly `expected` options. */
function attachOutcome(buffer: SharedArrayBuffer, expected: object, trial: string): 'rejected' | 'attached' {
  const layout = attachOrRejection(buffer, trial);
  if (layout === undefined) return 'rejected';
  expect(layout.options, `${trial}: attached with other options`).toEqual(expected);
  return 'attached';
}

/** attach(), or undefined when it threw a BAD_SEGMENT PhoenixError; anything else fails the test. */
function attachOrRejection(buffer: SharedArrayBuffer, trial: string): PhoenixShmLayout | undefined {
  try {
    return PhoenixShmLayout.attach(buffer);
  } catch (error) {
    expect(PhoenixError.isInstance(error), `${trial}: threw a non-PhoenixError ${String(error)}`).toBe(true);
    expect((error as PhoenixError).code, `${trial}: ${(error as Error).message}`).toBe('ERR_PHOENIX_BAD_SEGMENT');
    return undefined;
  }
}

function setup() {
  const { buffer, layout } = makeLayout();
  const words = headerWords(buffer);
  const pristine = words.slice();
  const restore = () => words.set(pristine);
  return { buffer, words, pristine, restore, options: layout.options };
}

/** Values more likely than uniform noise to get past a check: small, boundary, and right-but-shifted. */
function interesting(next: () => number, right: number): number {
  switch (next() % 8) {
    case 0:
      return 0;
    case 1:
      return next() % 4096;
    case 2:
      return 2 ** (next() % 31);
    case 3:
      return right + ((next() % 3) - 1) * 64;
    case 4:
      return -1 - (next() % 16);
    case 5:
      return 0x7fffffff;
    case 6:
      return right ^ (1 << (next() % 32));
    default:
      return next() | 0;
  }
}

describe('attach() over a garbage header', () => {
  it('rejects uniform random noise over the whole header (5000 trials)', () => {
    const { buffer, words, restore, options } = setup();
    const next = mulberry32Words(0x5eed0001);
    for (let trial = 0; trial < 5000; trial++) {
      restore();
      for (let i = 0; i < HEADER_WORDS; i++) words[i] = next() | 0;
      expect(attachOutcome(buffer, options, `trial ${trial}`)).toBe('rejected');
    }
  });

  it('rejects noise behind an intact magic and version (5000 trials)', () => {
    const { buffer, words, pristine, restore, options } = setup();
    const next = mulberry32Words(0x5eed0002);
    for (let trial = 0; trial < 5000; trial++) {
      restore();
      for (let i = 2; i < VALIDATED_WORDS; i++) if (next() & 1) words[i] = next() | 0;
      if (words.subarray(2, VALIDATED_WORDS).every((w, i) => w === pristine[i + 2])) continue;
      expect(attachOutcome(buffer, options, `trial ${trial}`)).toBe('rejected');
    }
  });

  it('survives plausible values in random validated words with a matching checksum (5000 trials)', () => {
    // Fixing the checksum gets the garbage past it, into the configuration and
    // geometry checks and on to the monitors and worker records. A header
    // that still passes is well formed: it may name other option values (a
    // hang timeout, or a queue capacity or payload limit that needs no other
    // ring size: each ring's own header holds its real limits) but must
    // describe the very byte layout that is in memory.
    const { buffer, words, pristine, restore } = setup();
    const byteLayout = (g: LayoutGeometry) => ({
      ...g,
      normalRing: { bytes: g.normalRing.bytes, dataBytes: g.normalRing.dataBytes },
      vipRing: { bytes: g.vipRing.bytes, dataBytes: g.vipRing.dataBytes },
    });
    const geometry = byteLayout(PhoenixShmLayout.attach(buffer).geometry);
    const next = mulberry32Words(0x5eed0003);
    const strategies = ['adaptive', 'spin', 'block'];
    const at = (offset: number) => words[offset >> 2];
    // Recorded sizes and offsets: attach() compares each with the value it recomputes.
    const exact = new Set(
      [
        S.HEADER_BYTES_OFFSET,
        S.TOTAL_BYTES_OFFSET,
        S.NORMAL_RING_DATA_BYTES_OFFSET,
        S.VIP_RING_DATA_BYTES_OFFSET,
        S.WORKER_RECORD_BYTES_OFFSET,
        S.SLOT_RECORD_BYTES_OFFSET,
        S.WORKERS_OFFSET_OFFSET,
        S.SLOTS_OFFSET_OFFSET,
        S.RINGS_OFFSET_OFFSET,
        S.SLOT_STRIDE_OFFSET,
        S.NORMAL_PAIR_BYTES_OFFSET,
        S.VIP_PAIR_BYTES_OFFSET,
      ].map((offset) => offset >> 2),
    );
    let attached = 0;
    let rejected = 0;
    for (let trial = 0; trial < 5000; trial++) {
      restore();
      const count = 1 + (next() % 4);
      const touched: number[] = [];
      for (let n = 0; n < count; n++) {
        const index = 2 + (next() % (VALIDATED_WORDS - 3)); // not magic, version or checksum
        words[index] = interesting(next, pristine[index]!);
        touched.push(index);
      }
      fixChecksum(buffer);
      const name = `trial ${trial} (words ${touched.join(',')})`;
      const layout = attachOrRejection(buffer, name);
      if (layout === undefined) {
        rejected++;
        continue;
      }
      attached++;
      expect(
        touched.filter((i) => exact.has(i) && words[i] !== pristine[i]),
        name,
      ).toEqual([]);
      expect(byteLayout(layout.geometry), name).toEqual(geometry);
      expect(layout.options, name).toEqual({
        normalWorkers: at(S.NORMAL_WORKERS_OFFSET),
        vipWorkers: at(S.VIP_WORKERS_OFFSET),
        normalQueueCapacity: at(S.NORMAL_QUEUE_CAPACITY_OFFSET),
        vipQueueCapacity: at(S.VIP_QUEUE_CAPACITY_OFFSET),
        maxPayloadBytes: at(S.MAX_PAYLOAD_BYTES_OFFSET),
        maxClients: at(S.MAX_CLIENTS_OFFSET),
        concurrency: at(S.CONCURRENCY_OFFSET),
        hangTimeoutMs: at(S.HANG_TIMEOUT_MS_OFFSET),
        waitStrategy: strategies[at(S.WAIT_STRATEGY_OFFSET)!],
      });
    }
    expect(rejected).toBeGreaterThan(0);
    expect(attached).toBeGreaterThan(0);
  });

  it.each<[string, (word: number) => number]>([
    ['xor 1', (w) => w ^ 1],
    ['xor 0x80000000', (w) => w ^ 0x80000000],
    ['complement', (w) => ~w],
    ['+64', (w) => w + 64],
    ['zero', () => 0],
    ['-1', () => -1],
  ])('rejects a single-word change (%s) at every validated word, and ignores it elsewhere', (_name, change) => {
    const { buffer, words, pristine, restore, options } = setup();
    for (let index = 0; index < HEADER_WORDS; index++) {
      restore();
      words[index] = change(pristine[index]!);
      const outcome = attachOutcome(buffer, options, `word ${index} (byte ${index * 4})`);
      if (words[index] === pristine[index]) {
        expect(outcome, `word ${index} unchanged`).toBe('attached');
      } else if (index < VALIDATED_WORDS) {
        expect(outcome, `word ${index} (byte ${index * 4})`).toBe('rejected');
      } else {
        expect(outcome, `word ${index} (byte ${index * 4}) is neither checksummed nor validated`).toBe('attached');
      }
    }
  });

  it('rejects a random value at every validated word, for 20 seeds', () => {
    const { buffer, words, pristine, restore, options } = setup();
    const next = mulberry32Words(0x5eed0004);
    for (let round = 0; round < 20; round++) {
      for (let index = 0; index < VALIDATED_WORDS; index++) {
        restore();
        const value = next() | 0;
        if (value === pristine[index]) continue;
        words[index] = value;
        expect(attachOutcome(buffer, options, `round ${round} word ${index}`)).toBe('rejected');
      }
    }
  });

  it('leaves probe() agreeing with attach() on every trial', () => {
    const { buffer, words, restore } = setup();
    const next = mulberry32Words(0x5eed0005);
    for (let trial = 0; trial < 2000; trial++) {
      restore();
      const index = next() % HEADER_WORDS;
      words[index] = next() | 0;
      if (next() & 1) fixChecksum(buffer);
      const probe = PhoenixShmLayout.probe(buffer);
      let attachError: string | undefined;
      try {
        PhoenixShmLayout.attach(buffer);
      } catch (error) {
        attachError = (error as Error).message;
      }
      if (probe.kind === 'ready')
        expect(attachError === undefined || /structures|worker record/.test(attachError)).toBe(true);
      else expect(attachError, `trial ${trial}`).toBe(probe.reason);
    }
  });
});
