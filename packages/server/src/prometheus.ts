/**
 * Prometheus exposition for PhoenixIPC, in its own entry point
 * (`@phoenix-ipc/server/prometheus`) so that only users who want it load
 * prom-client (an optional peer dependency).
 *
 *   import { registerPrometheusMetrics } from '@phoenix-ipc/server/prometheus';
 *   const { registry } = registerPrometheusMetrics(server);
 *   http.createServer(async (_req, res) => res.end(await registry.metrics())).listen(9464);
 *
 * Metrics (prefix `phoenix_` by default; latencies in seconds, quantiles 0.5, 0.9, 0.99 and 1 = max):
 *   phoenix_calls_total{func}                      counter   requests answered by workers (plus poisons)
 *   phoenix_errors_total{func,code}                counter   failures by error code
 *   phoenix_queue_wait_seconds{func,quantile}      gauge     time queued before a worker started the request
 *   phoenix_handler_seconds{func,quantile}         gauge     handler run time
 *   phoenix_end_to_end_seconds{func,quantile}      gauge     the supervisor's own calls, end to end
 *   phoenix_group_calls_total{group}               counter   as calls_total, by group (normal, vip)
 *   phoenix_group_errors_total{group,code}         counter
 *   phoenix_worker_up{group,index}                 gauge     1 while the worker process serves
 *   phoenix_worker_crashes_total{group,index}      counter
 *   phoenix_worker_restarts_total{group,index}     counter
 *   phoenix_worker_processed_total{group,index}    counter
 *   phoenix_worker_queue_depth{group,index}        gauge     requests queued to it, not started
 *   phoenix_clients_connected                      gauge     client processes holding a slot
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { LatencySummary, MetricsSnapshot } from './call-metrics.js';
import type { IpcServer } from './ipc-server.js';
import type { WorkerStats } from './worker-stats.js';

export interface PrometheusOptions {
  /** Registry to add the metrics to (default: a new one). */
  registry?: Registry;
  /** Metric name prefix (default 'phoenix_'). */
  prefix?: string;
}

type Snapshot = MetricsSnapshot & { workers: WorkerStats[]; clients: number };

const QUANTILES: [string, keyof LatencySummary][] = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
  ['1', 'max'],
];

/** Registers PhoenixIPC's metrics for `server` (a supervisor); returns the registry and the metric names. */
export function registerPrometheusMetrics(
  server: IpcServer,
  options: PrometheusOptions = {},
): { registry: Registry; metricNames: string[] } {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? 'phoenix_';
  let cached: { at: number; snapshot: Snapshot } | null = null;
  // One scrape collects every metric: read the server once per scrape.
  const read = (): Snapshot => {
    const now = performance.now();
    if (cached === null || now - cached.at > 100) cached = { at: now, snapshot: server.metrics() as Snapshot };
    return cached.snapshot;
  };
  const names: string[] = [];
  // What a counter and a gauge are made of: every scrape resets the metric and fills it from one read of the server.
  const configOf = <M extends Counter | Gauge>(
    name: string,
    help: string,
    labelNames: string[],
    fill: (metric: M, snapshot: Snapshot) => void,
  ) => {
    names.push(prefix + name);
    return {
      name: prefix + name,
      help,
      labelNames,
      registers: [registry],
      collect(this: M) {
        this.reset();
        fill(this, read());
      },
    };
  };
  const counter = (name: string, help: string, labelNames: string[], fill: (metric: Counter, s: Snapshot) => void) =>
    new Counter(configOf(name, help, labelNames, fill));
  const gauge = (name: string, help: string, labelNames: string[], fill: (metric: Gauge, s: Snapshot) => void) =>
    new Gauge(configOf(name, help, labelNames, fill));
  const latency = (name: string, help: string, pick: (stats: Snapshot['byFuncId'][string]) => LatencySummary) =>
    gauge(name, help, ['func', 'quantile'], (metric, snapshot) => {
      for (const [func, stats] of Object.entries(snapshot.byFuncId)) {
        const summary = pick(stats);
        if (summary.count === 0) continue;
        for (const [quantile, key] of QUANTILES) metric.set({ func, quantile }, summary[key] / 1e6);
      }
    });

  counter('calls_total', 'Requests answered by PhoenixIPC workers, by func id', ['func'], (metric, snapshot) => {
    for (const [func, stats] of Object.entries(snapshot.byFuncId)) metric.inc({ func }, stats.calls);
  });
  counter('errors_total', 'Failed calls by func id and error code', ['func', 'code'], (metric, snapshot) => {
    for (const [func, stats] of Object.entries(snapshot.byFuncId)) {
      for (const [code, count] of Object.entries(stats.errors)) metric.inc({ func, code }, count);
    }
  });
  latency('queue_wait_seconds', 'Time a request waited before a worker started it', (stats) => stats.queueWaitUs);
  latency('handler_seconds', 'Handler run time', (stats) => stats.handlerUs);
  latency('end_to_end_seconds', "The supervisor's own calls, end to end", (stats) => stats.endToEndUs);
  counter('group_calls_total', 'Requests answered by PhoenixIPC workers, by group', ['group'], (metric, snapshot) => {
    for (const [group, stats] of Object.entries(snapshot.byGroup)) metric.inc({ group }, stats.calls);
  });
  counter('group_errors_total', 'Failed calls by group and error code', ['group', 'code'], (metric, snapshot) => {
    for (const [group, stats] of Object.entries(snapshot.byGroup)) {
      for (const [code, count] of Object.entries(stats.errors)) metric.inc({ group, code }, count);
    }
  });
  const perWorker = (metric: Gauge | Counter, snapshot: Snapshot, value: (worker: WorkerStats) => number) => {
    for (const worker of snapshot.workers) {
      const labels = { group: worker.group, index: String(worker.index) };
      const amount = value(worker);
      if (metric instanceof Counter) metric.inc(labels, amount);
      else metric.set(labels, amount);
    }
  };
  gauge('worker_up', '1 while the worker process serves', ['group', 'index'], (metric, snapshot) =>
    perWorker(metric, snapshot, (worker) => (worker.alive && worker.state === 'running' ? 1 : 0)),
  );
  counter('worker_crashes_total', 'Worker deaths, hangs included', ['group', 'index'], (metric, snapshot) =>
    perWorker(metric, snapshot, (worker) => worker.crashes),
  );
  counter('worker_restarts_total', 'Replacement workers started', ['group', 'index'], (metric, snapshot) =>
    perWorker(metric, snapshot, (worker) => worker.restarts),
  );
  counter('worker_processed_total', 'Requests the worker index finished', ['group', 'index'], (metric, snapshot) =>
    perWorker(metric, snapshot, (worker) => worker.processed),
  );
  gauge('worker_queue_depth', 'Requests queued to the worker and not started', ['group', 'index'], (metric, snapshot) =>
    perWorker(metric, snapshot, (worker) => worker.queueDepth),
  );
  gauge('clients_connected', 'Client processes holding a connection slot', [], (metric, snapshot) =>
    metric.set(snapshot.clients),
  );
  return { registry, metricNames: names };
}
