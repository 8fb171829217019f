import hdr from 'hdr-histogram-js';

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Percentiles of non-negative values (HdrHistogram, 3 significant digits). */
export class Percentiles {
  readonly #histogram = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true });
  #count = 0;
  #max = 0;

  record(value: number): void {
    const v = Math.max(0, Math.round(value));
    this.#histogram.recordValue(v);
    this.#count++;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  percentile(p: number): number {
    return this.#count === 0 ? 0 : this.#histogram.getValueAtPercentile(p);
  }

  summary(): Summary {
    return {
      count: this.#count,
      p50: this.percentile(50),
      p99: this.percentile(99),
      max: this.#max,
      mean: this.#count === 0 ? 0 : Math.round(this.#histogram.mean * 10) / 10,
    };
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
