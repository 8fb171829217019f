import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { unlinkSegment } from '@phoenix-ipc/native-shm';
import { ProcessHarness, type ScriptProcess, shmEntriesWithPrefix, sleep } from '@phoenix-ipc/test-kit';
import type { NatsBridge, NatsCaller } from '../src/index.js';
import { NatsServer } from '../src/testing.js';

/** Real processes, real segments and a real nats-server, always cleaned up (even when a test fails). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const HOST_SCRIPT = `${FIXTURES}host.mjs`;
export const SERVICE = 'test';
export const SUBJECT = `phoenix.${SERVICE}.*`;

const PREFIX = `phx-nats-t${process.pid}-`;

export function segmentsWithPrefix(prefix = PREFIX): string[] {
  return shmEntriesWithPrefix(prefix);
}

export interface HostConfig {
  server?: Record<string, unknown>;
  bridge?: Record<string, unknown>;
}

/** Tracks everything a test creates (hosts, nats-servers, callers, bridges, connections, directories) and tears it all down. */
export class Harness extends ProcessHarness {
  readonly natsServers = new Set<NatsServer>();
  readonly callers = new Set<NatsCaller>();
  readonly bridges = new Set<NatsBridge>();
  readonly connections = new Set<NatsConnection>();
  readonly directories = new Set<string>();

  constructor() {
    // A host's leftovers carry its segment name in their command line as well as their environment.
    super({ prefix: PREFIX, unlinkSegment, matchCmdline: true });
  }

  directory(): string {
    const path = mkdtempSync(join(tmpdir(), 'phoenix-nats-test-'));
    this.directories.add(path);
    return path;
  }

  async nats(options: Parameters<typeof NatsServer.start>[0] = {}): Promise<NatsServer> {
    const server = await NatsServer.start(options);
    this.natsServers.add(server);
    return server;
  }

  /** Starts a host (supervisor + workers + bridge) tagged `tag` and waits until it serves. */
  async host(nats: NatsServer, tag: string, config: HostConfig = {}): Promise<ScriptProcess> {
    const name = this.name(tag);
    // Not a worker, whatever this process is: the host starts its own.
    const script = this.script(HOST_SCRIPT, [name, nats.url, JSON.stringify(config)], {
      HOST_TAG: tag,
      PHOENIX_IPC_WORKER: undefined,
    });
    await script.waitFor('ready');
    return script;
  }

  track<T extends NatsCaller | NatsBridge | NatsConnection>(value: T): T {
    if ('funcIds' in value) this.bridges.add(value as NatsBridge);
    else if ('callAsync' in value) this.callers.add(value as NatsCaller);
    else this.connections.add(value as NatsConnection);
    return value;
  }

  override async cleanup(): Promise<void> {
    for (const caller of this.callers) await caller.close().catch(() => undefined);
    for (const bridge of this.bridges) await Promise.race([bridge.stop().catch(() => undefined), sleep(5000)]);
    for (const connection of this.connections) await connection.close().catch(() => undefined);
    await super.cleanup();
    for (const server of this.natsServers) await server.stop();
    for (const path of this.directories) rmSync(path, { recursive: true, force: true });
    this.natsServers.clear();
    this.callers.clear();
    this.bridges.clear();
    this.connections.clear();
    this.directories.clear();
  }
}
