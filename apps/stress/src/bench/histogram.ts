import { build, type Histogram } from 'hdr-histogram-js';

/** A latency histogram in nanoseconds (1 ns .. 60 s, 3 significant digits). */
export function latencyHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: 3 });
}

export interface LatencySummary {
  calls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
}

export function summarize(histogram: Histogram): LatencySummary {
  return {
    calls: histogram.totalCount,
    p50Us: histogram.getValueAtPercentile(50) / 1000,
    p99Us: histogram.getValueAtPercentile(99) / 1000,
    meanUs: histogram.mean / 1000,
    maxUs: histogram.maxValue / 1000,
  };
}
