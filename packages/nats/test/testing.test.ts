import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { findNatsServer, NatsServer } from '../src/testing.js';

const started: NatsServer[] = [];
afterEach(async () => {
  for (const server of started.splice(0)) await server.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('@phoenix-ipc/nats/testing', () => {
  it('a NATS_SERVER_BIN that is not there fails, saying how to install nats-server', async () => {
    const saved = process.env.NATS_SERVER_BIN;
    process.env.NATS_SERVER_BIN = '/nonexistent/nats-server';
    try {
      expect(() => findNatsServer()).toThrow(/apt-get install -y nats-server.*brew install nats-server/);
      await expect(NatsServer.start()).rejects.toThrow(/NATS_SERVER_BIN=\/nonexistent\/nats-server/);
    } finally {
      if (saved === undefined) delete process.env.NATS_SERVER_BIN;
      else process.env.NATS_SERVER_BIN = saved;
    }
  });

  it('looks at NATS_SERVER_BIN, else PATH only: off PATH it fails, naming where one lies or how to install it', () => {
    const saved = { bin: process.env.NATS_SERVER_BIN, path: process.env.PATH };
    const dir = mkdtempSync(join(tmpdir(), 'phx-nats-path-'));
    try {
      delete process.env.NATS_SERVER_BIN;
      process.env.PATH = dir;
      const usual = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/opt/homebrew/bin', '/sbin']
        .map((d) => join(d, 'nats-server'))
        .find((file) => {
          try {
            return statSync(file).isFile();
          } catch {
            return false;
          }
        });
      expect(() => findNatsServer()).toThrow(
        usual === undefined ? /apt-get install -y nats-server/ : `nats-server is not on PATH, but ${usual} is`,
      );
      const onPath = join(dir, 'nats-server');
      writeFileSync(onPath, '#!/bin/sh\n');
      chmodSync(onPath, 0o755);
      expect(findNatsServer()).toBe(onPath);
    } finally {
      if (saved.bin === undefined) delete process.env.NATS_SERVER_BIN;
      else process.env.NATS_SERVER_BIN = saved.bin;
      process.env.PATH = saved.path;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts servers on free loopback ports that accept connections, and stops them', async () => {
    const one = await NatsServer.start();
    const two = await NatsServer.start();
    started.push(one, two);
    expect(one.port).not.toBe(two.port);
    expect(one.url).toBe(`nats://127.0.0.1:${one.port}`);
    const nc = await connect({ servers: one.url });
    expect(nc.info?.port).toBe(one.port);
    await nc.close();
    const pid = one.pid;
    await one.stop();
    expect(alive(pid)).toBe(false);
    expect(one.running).toBe(false);
    await one.stop(); // idempotent
  });

  it('restarts on the same ports (clients and monitor), and applies maxPayload', async () => {
    const server = await NatsServer.start({ maxPayload: 4096 });
    started.push(server);
    const port = server.port;
    const pid = server.pid;
    const monitorPorts = () => [...server.log.matchAll(/Starting http monitor on [^\s]*:(\d+)/g)].map((m) => m[1]);
    const [monitorPort] = monitorPorts();
    await server.restart();
    expect(server.port).toBe(port);
    // Never a fresh monitor port: one could be the clients' port just freed, and the restart fail.
    expect(monitorPorts()).toEqual([monitorPort, monitorPort]);
    expect(Number(monitorPort)).toBeGreaterThan(0);
    expect(server.pid).not.toBe(pid);
    expect(alive(pid)).toBe(false);
    const nc = await connect({ servers: server.url });
    expect(nc.info?.max_payload).toBe(4096);
    await nc.close();
  });
});
