import { IpcClient } from '@phoenix-ipc/client';
import { waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcServer } from '../src/index.js';
import { registerPrometheusMetrics } from '../src/prometheus.js';
import { ECHO, EXITS, THROWS } from './fixtures/handlers.mjs';
import { Harness, WORKER_SCRIPT } from './harness.js';

const harness = new Harness();
afterEach(() => harness.cleanup());

async function start(): Promise<{ server: IpcServer; name: string }> {
  const name = harness.name('metrics');
  const server = harness.track(
    await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 1, maxClients: 2, restartBackoff: { initialMs: 10 } }),
  );
  await server.start(WORKER_SCRIPT, [name]);
  return { server, name };
}

describe('server.metrics()', () => {
  it('counts calls and errors by func id and by group, with latency percentiles (three significant digits)', async () => {
    const { server } = await start();
    for (let i = 0; i < 50; i++) await server.call(ECHO, `m${i}`);
    for (let i = 0; i < 5; i++) await server.call(ECHO, 'vip', { priority: 1 });
    for (let i = 0; i < 3; i++) await server.call(THROWS, '').catch(() => undefined);
    // The supervisor's own calls count as soon as they have settled: no waiting for the workers' reports.
    const metrics = server.metrics();
    const echo = metrics.byFuncId[String(ECHO)]!;
    expect(echo.calls).toBe(55);
    expect(echo.errors).toEqual({});
    expect(echo.handlerUs.count).toBe(55);
    expect(echo.queueWaitUs.count).toBe(55);
    expect(echo.endToEndUs.count).toBe(55);
    expect(echo.endToEndUs.p50).toBeGreaterThan(0);
    expect(echo.endToEndUs.p99).toBeGreaterThanOrEqual(echo.endToEndUs.p50);
    expect(echo.endToEndUs.max).toBeGreaterThanOrEqual(echo.endToEndUs.p99);
    const throws = metrics.byFuncId[String(THROWS)]!;
    expect(throws.calls).toBe(3);
    expect(throws.errors).toEqual({ ERR_PHOENIX_HANDLER_FAILED: 3 });
    expect(metrics.byGroup.vip.calls).toBe(5);
    expect(metrics.byGroup.normal.calls).toBe(53);
    expect(metrics.workers).toHaveLength(2);
    expect(metrics.uptimeMs).toBeGreaterThan(0);
  });

  it('never counts a call twice: the workers leave the supervisor’s own calls out of their reports', async () => {
    const { server, name } = await start();
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    const echoCalls = () => server.metrics().byFuncId[String(ECHO)]?.calls ?? 0;
    for (let i = 0; i < 20; i++) await client.call(ECHO, 'c');
    await waitUntil(() => echoCalls() >= 20, 5000, 'the workers to report');
    for (let i = 0; i < 10; i++) await server.call(ECHO, 's');
    expect(echoCalls()).toBe(30);
    // A worker reports in the order it served: a report of the supervisor's calls would come no later than
    // the report of this client call.
    await client.call(ECHO, 'last');
    await waitUntil(() => echoCalls() >= 31, 5000, 'the last call to be reported');
    expect(echoCalls()).toBe(31);
  });

  it('counts the calls of client processes within milliseconds of the workers going idle', async () => {
    const { server, name } = await start();
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    for (let i = 0; i < 20; i++) await client.call(ECHO, 'c');
    // Workers report once a second while busy; an idle worker reports what it served at once.
    await waitUntil(() => (server.metrics().byFuncId[String(ECHO)]?.calls ?? 0) >= 20, 500, 'the workers to report');
    expect(server.metrics().byFuncId[String(ECHO)]!.handlerUs.count).toBe(20);
    expect(server.metrics().clients).toBe(1);
  });

  it('counts a poison as ERR_PHOENIX_WORKER_CRASHED', async () => {
    const { server } = await start();
    await server.call(EXITS, '').catch(() => undefined);
    expect(server.metrics().byFuncId[String(EXITS)]!.errors).toEqual({ ERR_PHOENIX_WORKER_CRASHED: 1 });
  });
});

describe('events', () => {
  it('emits workerCrash, workerRestart, clientConnected and clientGone', async () => {
    const { server, name } = await start();
    const events: string[] = [];
    for (const event of ['workerCrash', 'workerRestart', 'clientConnected', 'clientGone']) {
      server.on(event, () => events.push(event));
    }
    const client = harness.track(IpcClient.create(name));
    await client.connect(5000);
    await server.call(EXITS, '').catch(() => undefined);
    await waitUntil(() => events.includes('workerRestart'), 10_000, 'the restart');
    await client.disconnect();
    await waitUntil(() => events.includes('clientGone'), 5000, 'clientGone');
    expect(events).toEqual(['clientConnected', 'workerCrash', 'workerRestart', 'clientGone']);
  });
});

describe('Prometheus exposition', () => {
  it('exposes the documented metrics through prom-client', async () => {
    const { server } = await start();
    for (let i = 0; i < 10; i++) await server.call(ECHO, 'p');
    await server.call(THROWS, '').catch(() => undefined);
    await waitUntil(() => (server.metrics().byFuncId[String(THROWS)]?.calls ?? 0) >= 1, 5000, 'the workers to report');
    const { registry, metricNames } = registerPrometheusMetrics(server);
    const text = await registry.metrics();
    expect(metricNames).toContain('phoenix_calls_total');
    expect(text).toContain('phoenix_calls_total{func="1001"} 10');
    expect(text).toContain('phoenix_errors_total{func="1004",code="ERR_PHOENIX_HANDLER_FAILED"} 1');
    expect(text).toMatch(/phoenix_handler_seconds\{func="1001",quantile="0\.5"\} [\d.e-]+/);
    expect(text).toContain('phoenix_worker_up{group="normal",index="0"} 1');
    expect(text).toContain('phoenix_worker_up{group="vip",index="0"} 1');
    expect(text).toContain('phoenix_clients_connected 0');
    expect(text).toContain('# TYPE phoenix_worker_crashes_total counter');
  });

  it('takes a prefix and an existing registry', async () => {
    const { server } = await start();
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    registerPrometheusMetrics(server, { registry, prefix: 'app_phx_' });
    expect(await registry.metrics()).toContain('app_phx_clients_connected 0');
  });
});
