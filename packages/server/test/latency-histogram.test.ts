import { describe, expect, it } from 'vitest';
import { HIGHEST_US, LatencyHistogram } from '../src/latency-histogram.js';

function of(values: number[]): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const value of values) histogram.record(value);
  return histogram;
}

describe('LatencyHistogram', () => {
  it('counts values below 2048 µs exactly', () => {
    const histogram = of(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(histogram.valueAtPercentile(50)).toBe(1000);
    expect(histogram.valueAtPercentile(99)).toBe(1980);
    expect(histogram.valueAtPercentile(100)).toBe(2000);
    expect(histogram.min).toBe(1);
    expect(histogram.mean).toBe(1000.5);
  });

  it('keeps three significant digits up to an hour', () => {
    for (const value of [2048, 2049, 3001, 65_537, 1_234_567, 987_654_321, HIGHEST_US]) {
      const histogram = of([1, value, value]); // the median is `value`, reported as the top of its bucket
      const reported = histogram.valueAtPercentile(50);
      expect(reported).toBeGreaterThanOrEqual(value);
      expect((reported - value) / value).toBeLessThan(1 / 1000);
    }
  });

  it('gives several percentiles in one walk over the buckets', () => {
    // 1..2000 in a shuffled order (exact below 2048 µs): the nth percentile is n% of 2000.
    const histogram = of(Array.from({ length: 2000 }, (_, i) => ((i * 7919) % 2000) + 1));
    expect(histogram.valuesAtPercentiles([0, 50, 90, 99, 99.9, 100])).toEqual([1, 1000, 1800, 1980, 1998, 2000]);
    expect(new LatencyHistogram().valuesAtPercentiles([50, 99])).toEqual([0, 0]);
  });

  it('clamps what it cannot hold: negatives and NaN to 0, beyond an hour to an hour', () => {
    const histogram = of([-5, Number.NaN, 1e12]);
    expect(histogram.min).toBe(0);
    expect(histogram.max).toBe(HIGHEST_US);
    expect(histogram.count).toBe(3);
  });

  it('adds up histograms sent in wire form, as if the values were recorded in one', () => {
    const values = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 100_000);
    const whole = of(values);
    const merged = new LatencyHistogram();
    for (let part = 0; part < 5; part++) {
      const wire = of(values.slice(part * 1000, part * 1000 + 1000)).toWire();
      expect(merged.addWire(JSON.parse(JSON.stringify(wire)))).toBe(true);
    }
    for (const percentile of [0, 50, 90, 99, 99.9, 100]) {
      expect(merged.valueAtPercentile(percentile)).toBe(whole.valueAtPercentile(percentile));
    }
    expect([merged.count, merged.min, merged.max, merged.mean]).toEqual([
      whole.count,
      whole.min,
      whole.max,
      whole.mean,
    ]);
  });

  it('refuses a wire form that is not well formed and adds nothing of it', () => {
    const histogram = of([5]);
    for (const wire of [null, 'x', [], [0, 0], [0, 0, 0, 1], [0, 0, 0, 1.5, 1], [Number.NaN, 0, 0], [0, 3, 2]]) {
      expect(histogram.addWire(wire)).toBe(false);
    }
    expect(histogram.count).toBe(1);
    expect(histogram.valueAtPercentile(100)).toBe(5);
  });

  it('forgets every value on reset, fast ones and slow ones', () => {
    const histogram = of([3, 300, 3_000_000]);
    histogram.reset();
    expect([histogram.count, histogram.min, histogram.max]).toEqual([0, 0, 0]);
    histogram.record(7);
    expect(histogram.valuesAtPercentiles([0, 100])).toEqual([7, 7]);
    expect(histogram.toWire()).toEqual([7, 7, 7, 7, 1]);
  });

  it('keeps a count past 2^32 in one bucket (a supervisor adds up every worker for as long as it runs)', () => {
    const histogram = new LatencyHistogram();
    const many = 2 ** 32 + 5;
    expect(histogram.addWire([10 * many, 10, 10, 10, many])).toBe(true);
    expect(histogram.addWire([300, 300, 300, 300, 1])).toBe(true);
    expect(histogram.count).toBe(many + 1);
    expect(histogram.toWire()).toEqual([10 * many + 300, 10, 300, 10, many, 300, 1]);
    expect(histogram.valueAtPercentile(100)).toBe(300);
  });
});
