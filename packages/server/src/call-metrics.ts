import { LaneTime } from './lane.js';
import { isLatencyWire, LatencyHistogram } from './latency-histogram.js';

/** Percentiles of a latency distribution, in microseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** What server.metrics() reports for one func id or one group. */
export interface CallStats {
  /** Requests a worker answered (replies and worker-side failures), plus poisons. */
  calls: number;
  /** Failures by error code. */
  errors: Record<string, number>;
  /** Time from the caller writing the request to a worker starting it. */
  queueWaitUs: LatencySummary;
  /** Time the handler ran. */
  handlerUs: LatencySummary;
  /** Whole call as the supervisor's own calls saw it (client calls: see IpcClient's observer option). */
  endToEndUs: LatencySummary;
}

export interface MetricsSnapshot {
  /** Since the server was created. */
  uptimeMs: number;
  byFuncId: Record<string, CallStats>;
  byGroup: { normal: CallStats; vip: CallStats };
}

const SAMPLE_ALL = 1024;
const SAMPLE_MASK = 15;

function summarize(histogram: LatencyHistogram): LatencySummary {
  if (histogram.count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const [p50, p90, p99, p999] = histogram.valuesAtPercentiles([50, 90, 99, 99.9]) as [number, number, number, number];
  return { count: histogram.count, min: histogram.min, mean: histogram.mean, p50, p90, p99, p999, max: histogram.max };
}

/** Counters and latency histograms (three significant digits) for one key (a func id or a group). */
class StatsCell {
  calls = 0;
  readonly errors = new Map<string, number>();
  readonly queueWait = new LatencyHistogram();
  readonly handler = new LatencyHistogram();
  readonly endToEnd = new LatencyHistogram();
  dirty = false;

  countError(code: string, count = 1): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + count);
  }

  /** One of the supervisor's own calls (see CallMetrics.recordCall). */
  recordCall(code: string | null, totalUs: number, local: boolean, queueWaitUs: number, handlerUs: number): void {
    this.endToEnd.record(totalUs);
    // Crashes are counted by recordPoison, for every caller alike.
    if (code === 'ERR_PHOENIX_WORKER_CRASHED') return;
    if (code !== null) this.countError(code);
    if (local) return;
    // A worker answered it (workers leave the supervisor's requests out of their reports).
    this.calls++;
    if (queueWaitUs >= 0) this.queueWait.record(queueWaitUs);
    this.handler.record(handlerUs);
  }

  recordPoison(): void {
    this.calls++;
    this.countError('ERR_PHOENIX_WORKER_CRASHED');
  }

  toStats(): CallStats {
    return {
      calls: this.calls,
      errors: Object.fromEntries(this.errors),
      queueWaitUs: summarize(this.queueWait),
      handlerUs: summarize(this.handler),
      endToEndUs: summarize(this.endToEnd),
    };
  }

  reset(): void {
    this.calls = 0;
    this.errors.clear();
    this.queueWait.reset();
    this.handler.reset();
    this.endToEnd.reset();
    this.dirty = false;
  }
}

/** The wire form of a worker's metrics since its last report (JSON over the IPC channel). */
export interface MetricsDelta {
  funcs: {
    funcId: number;
    calls: number;
    errors: Record<string, number>;
    /** LatencyHistogram wire form. */
    queueWait: number[];
    handler: number[];
  }[];
}

/**
 * Call metrics keyed by func id and by group. Workers record every request
 * of a client process they answer, and send deltas to the supervisor about
 * once a second while busy and within milliseconds of going idle; the
 * supervisor adds them up. Its own calls it counts itself, as their replies
 * reach it (the reply carries the worker's queue wait and handler time), so
 * metrics() includes them as soon as they have settled.
 */
export class CallMetrics {
  readonly #byFunc = new Map<number, StatsCell>();
  readonly #byGroup = { normal: new StatsCell(), vip: new StatsCell() };
  readonly #createdAt = performance.now();
  readonly #times = new Float64Array(LaneTime.Count);
  /**
   * The cell of the last func id recorded: a worker mostly serves runs of one
   * method, and the Map lookup per request showed as 1.6% of a busy worker's
   * CPU (perf, 4 clients x 2 workers). Cells are never removed.
   */
  #lastFuncId = -1;
  #lastCell: StatsCell | null = null;

  #cell(funcId: number): StatsCell {
    if (funcId === this.#lastFuncId) return this.#lastCell!;
    let cell = this.#byFunc.get(funcId);
    if (cell === undefined) {
      cell = new StatsCell();
      this.#byFunc.set(funcId, cell);
    }
    this.#lastFuncId = funcId;
    this.#lastCell = cell;
    return cell;
  }

  /**
   * A worker answered a request (code null: success; queueWaitUs < 0:
   * unknown). Worker side: only per func id (the supervisor adds the worker's
   * group). Counts are exact; the latency histograms take every request up to
   * 1024 per reporting interval and 1 in 16 beyond, which keeps percentiles
   * right and the hot path cheap under load.
   */
  recordServed(funcId: number, code: string | null, queueWaitUs: number, handlerUs: number): void {
    const times = this.#times;
    times[LaneTime.QueueWaitUs] = queueWaitUs;
    times[LaneTime.HandlerUs] = handlerUs;
    this.recordServedTimes(funcId, code, times);
  }

  /**
   * recordServed with the times in a lane's typed array (LaneTime indices):
   * the worker's path, on which two doubles passed as arguments would be two
   * heap numbers per request.
   */
  recordServedTimes(funcId: number, code: string | null, times: Float64Array): void {
    const cell = this.#cell(funcId);
    const seen = cell.calls++;
    if (code !== null) cell.countError(code);
    if (seen < SAMPLE_ALL || (seen & SAMPLE_MASK) === 0) {
      const queueWaitUs = times[LaneTime.QueueWaitUs]!;
      if (queueWaitUs >= 0) cell.queueWait.record(queueWaitUs);
      cell.handler.record(times[LaneTime.HandlerUs]!);
    }
    cell.dirty = true;
  }

  /**
   * One of the supervisor's own calls finished; `local` failures never reached a worker's reply. The times
   * come from the worker's reply (queueWaitUs < 0: unknown).
   */
  recordCall(
    funcId: number,
    group: 'normal' | 'vip',
    code: string | null,
    totalUs: number,
    local: boolean,
    queueWaitUs: number,
    handlerUs: number,
  ): void {
    this.#cell(funcId).recordCall(code, totalUs, local, queueWaitUs, handlerUs);
    this.#byGroup[group].recordCall(code, totalUs, local, queueWaitUs, handlerUs);
  }

  /** A request a worker died on (any caller's). */
  recordPoison(funcId: number, group: 'normal' | 'vip'): void {
    this.#cell(funcId).recordPoison();
    this.#byGroup[group].recordPoison();
  }

  /** Encodes what changed since the last call and starts afresh (worker side). */
  takeDelta(): MetricsDelta | null {
    const funcs: MetricsDelta['funcs'] = [];
    for (const [funcId, cell] of this.#byFunc) {
      if (!cell.dirty) continue;
      funcs.push({
        funcId,
        calls: cell.calls,
        errors: Object.fromEntries(cell.errors),
        queueWait: cell.queueWait.toWire(),
        handler: cell.handler.toWire(),
      });
      cell.reset();
    }
    this.#byGroup.normal.reset();
    this.#byGroup.vip.reset();
    return funcs.length === 0 ? null : { funcs };
  }

  /** Adds a worker's delta (supervisor side). A malformed delta is ignored. */
  addDelta(delta: MetricsDelta, group: 'normal' | 'vip'): void {
    if (typeof delta !== 'object' || delta === null || !Array.isArray(delta.funcs)) return;
    for (const entry of delta.funcs) {
      if (!Number.isInteger(entry?.funcId) || typeof entry.calls !== 'number') continue;
      // Checked before anything is added: a malformed entry is ignored whole.
      if (!isLatencyWire(entry.queueWait) || !isLatencyWire(entry.handler)) continue;
      for (const cell of [this.#cell(entry.funcId), this.#byGroup[group]]) {
        cell.calls += entry.calls;
        for (const [code, count] of Object.entries(entry.errors ?? {})) {
          if (typeof count === 'number') cell.countError(code, count);
        }
        cell.queueWait.addWire(entry.queueWait);
        cell.handler.addWire(entry.handler);
      }
    }
  }

  snapshot(): MetricsSnapshot {
    const byFuncId: Record<string, CallStats> = {};
    for (const [funcId, cell] of [...this.#byFunc].sort((a, b) => a[0] - b[0]))
      byFuncId[String(funcId)] = cell.toStats();
    return {
      uptimeMs: performance.now() - this.#createdAt,
      byFuncId,
      byGroup: { normal: this.#byGroup.normal.toStats(), vip: this.#byGroup.vip.toStats() },
    };
  }
}
