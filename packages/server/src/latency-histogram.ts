/**
 * A latency histogram in microseconds with three significant digits, the
 * precision HDR histograms give: values below 2048 are counted exactly;
 * above, each power of two is cut into 1024 buckets, so a bucket is at most
 * 1/1024 of its values wide.
 *
 * Why not hdr-histogram-js: every worker records its latencies, and loading
 * that package (its WebAssembly blob and zlib) costs about 40 ms of CPU per
 * process start, a quarter of what a worker costs to boot. That is time a
 * warm spare is not ready (docs/crash-semantics.md). An idle func id costs
 * a few bytes (the array of fast buckets is made at the first fast value,
 * the slow ones are kept sparse), and buckets travel to the supervisor as
 * plain numbers.
 */

/** Values are clamped to [0, HIGHEST_US]: an hour. */
export const HIGHEST_US = 3_600_000_000;

const EXACT_BELOW = 2048;
const SUB_BUCKET_BITS = 10;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 1024
/** One past the largest bucket index (that of HIGHEST_US). */
const BUCKET_LIMIT = bucketOf(HIGHEST_US) + 1;

/** The bucket of a whole number of µs in [0, HIGHEST_US]. */
function bucketOf(value: number): number {
  if (value < EXACT_BELOW) return value;
  const shift = 31 - Math.clz32(value) - SUB_BUCKET_BITS; // >= 1
  return EXACT_BELOW + (shift - 1) * SUB_BUCKETS + ((value >>> shift) - SUB_BUCKETS);
}

/** The largest value that falls into `bucket` (what a percentile reports, as HDR does). */
function highestIn(bucket: number): number {
  if (bucket < EXACT_BELOW) return bucket;
  const above = bucket - EXACT_BELOW;
  const shift = Math.floor(above / SUB_BUCKETS) + 1;
  const sub = (above % SUB_BUCKETS) + SUB_BUCKETS;
  return (sub + 1) * 2 ** shift - 1;
}

/** A whole number of µs in [0, HIGHEST_US]; anything else (NaN, negative) counts as 0. */
export function clampUs(value: number): number {
  if (!(value > 0)) return 0;
  return Math.min(HIGHEST_US, Math.round(value));
}

/**
 * Buckets below this (values under 256 µs) are counted in an array, made at
 * the first such value: nearly every value of a busy worker lands there, and a
 * Map's get and set per value showed as 2% of its CPU (perf, 4 clients x 2
 * workers). Float64: a supervisor's totals outgrow 32 bits.
 */
const DENSE_BUCKETS = 256;

export class LatencyHistogram {
  /** Count per bucket index below DENSE_BUCKETS (null until one is recorded). */
  #dense: Float64Array | null = null;
  /** Count per bucket index from DENSE_BUCKETS up. */
  #counts = new Map<number, number>();
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  /** Exact, from the values recorded (not from their buckets). */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }

  get max(): number {
    return this.#max;
  }

  record(valueUs: number): void {
    const value = clampUs(valueUs);
    this.#add(bucketOf(value), 1);
    this.#count++;
    this.#sum += value;
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  /**
   * The value below which `percentile`% of the recorded values lie: the top
   * of its bucket, within [min, max].
   */
  valueAtPercentile(percentile: number): number {
    return this.valuesAtPercentiles([percentile])[0]!;
  }

  /** valueAtPercentile for each of `percentiles` (ascending), in one walk over the buckets. */
  valuesAtPercentiles(percentiles: readonly number[]): number[] {
    if (this.#count === 0) return percentiles.map(() => 0);
    const values: number[] = [];
    const { buckets, counts } = this.#pairs();
    let at = 0;
    let seen = counts[0]!;
    for (const percentile of percentiles) {
      // The epsilon keeps 99.9% of 2000 at 1998 (the float product is 1998.0000000000002).
      const wanted = Math.max(1, Math.ceil((Math.min(100, Math.max(0, percentile)) / 100) * this.#count - 1e-9));
      while (seen < wanted && at < buckets.length - 1) seen += counts[++at]!;
      values.push(Math.min(this.#max, Math.max(this.#min, highestIn(buckets[at]!))));
    }
    return values;
  }

  #add(bucket: number, count: number): void {
    if (bucket < DENSE_BUCKETS) {
      const dense = this.#dense ?? (this.#dense = new Float64Array(DENSE_BUCKETS));
      dense[bucket]! += count;
    } else {
      this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + count);
    }
  }

  /** The buckets with a count, ascending, and their counts. */
  #pairs(): { buckets: number[]; counts: number[] } {
    const buckets: number[] = [];
    const counts: number[] = [];
    const dense = this.#dense;
    if (dense !== null) {
      for (let bucket = 0; bucket < DENSE_BUCKETS; bucket++) {
        if (dense[bucket] === 0) continue;
        buckets.push(bucket);
        counts.push(dense[bucket]!);
      }
    }
    for (const bucket of [...this.#counts.keys()].sort((a, b) => a - b)) {
      buckets.push(bucket);
      counts.push(this.#counts.get(bucket)!);
    }
    return { buckets, counts };
  }

  reset(): void {
    this.#dense?.fill(0);
    this.#counts.clear();
    this.#count = 0;
    this.#sum = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = 0;
  }

  /**
   * The wire form (JSON over a worker's IPC channel): the exact sum, min and
   * max, then bucket index and count pairs.
   */
  toWire(): number[] {
    const wire = [this.#sum, this.min, this.#max];
    const { buckets, counts } = this.#pairs();
    for (let i = 0; i < buckets.length; i++) wire.push(buckets[i]!, counts[i]!);
    return wire;
  }

  /**
   * Adds a histogram in wire form. Returns false, adding nothing, if it is
   * not well formed (a worker is trusted to send its metrics, not to send
   * them intact).
   */
  addWire(wire: unknown): boolean {
    if (!isLatencyWire(wire)) return false;
    const [sum, min, max] = wire as [number, number, number];
    let count = 0;
    for (let i = 4; i < wire.length; i += 2) count += wire[i]!;
    if (count === 0) return true;
    for (let i = 3; i < wire.length; i += 2) this.#add(wire[i] as number, wire[i + 1] as number);
    this.#count += count;
    this.#sum += sum;
    if (min < this.#min) this.#min = min;
    if (max > this.#max) this.#max = max;
    return true;
  }
}

/** Whether `wire` is a histogram in wire form (see toWire), well formed. */
export function isLatencyWire(wire: unknown): wire is number[] {
  if (!Array.isArray(wire) || wire.length < 3 || wire.length % 2 === 0) return false;
  const [sum, min, max] = wire as unknown[];
  if (!isWhole(min) || !isWhole(max) || min > max || max > HIGHEST_US) return false;
  if (typeof sum !== 'number' || !(sum >= 0) || !Number.isFinite(sum)) return false;
  for (let i = 3; i < wire.length; i += 2) {
    const bucket: unknown = wire[i];
    const n: unknown = wire[i + 1];
    if (!isWhole(bucket) || bucket >= BUCKET_LIMIT || !isWhole(n) || n === 0) return false;
  }
  return true;
}

function isWhole(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
