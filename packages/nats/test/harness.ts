import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
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

/** The call ids host `tag` journalled in `dir` (the JOURNAL handler), in the order they ran. */
export function journal(dir: string, tag: string): string[] {
  try {
    return readFileSync(join(dir, `${tag}.log`), 'utf8')
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

export function segmentsWithPrefix(prefix = PREFIX): string[] {
  return shmEntriesWithPrefix(prefix);
}

/**
 * A TCP relay from a free loopback port to `target`, which a test cuts (every
 * relayed connection dropped, new ones closed at once) and opens again: one
 * client's outage, under the test's control.
 */
export class TcpGate {
  readonly #server: Server;
  readonly #target: number;
  readonly #sockets = new Set<Socket>();
  #open = true;

  private constructor(server: Server, target: number) {
    this.#server = server;
    this.#target = target;
    server.on('connection', (socket) => this.#relay(socket));
  }

  static async start(target: number): Promise<TcpGate> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new TcpGate(server, target);
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Drops every relayed connection; later ones are closed as they come, until open(). */
  cut(): void {
    this.#open = false;
    for (const socket of this.#sockets) socket.destroy();
  }

  open(): void {
    this.#open = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #relay(client: Socket): void {
    if (!this.#open) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(this.#target, '127.0.0.1');
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined); // a reset peer: the close below ends both
      socket.on('close', () => {
        this.#sockets.delete(socket);
        other.destroy();
      });
      socket.pipe(other);
    }
  }
}

export interface HostConfig {
  server?: Record<string, unknown>;
  bridge?: Record<string, unknown>;
  /** The bridge's own URL of the NATS server (a TcpGate's, to cut it off alone). */
  bridgeUrl?: string;
  /** The bridge connection's maxReconnectAttempts (default -1: for ever). */
  bridgeReconnects?: number;
}

/** Tracks everything a test creates (hosts, nats-servers, callers, bridges, connections, directories) and tears it all down. */
export class Harness extends ProcessHarness {
  readonly natsServers = new Set<NatsServer>();
  readonly callers = new Set<NatsCaller>();
  readonly bridges = new Set<NatsBridge>();
  readonly connections = new Set<NatsConnection>();
  readonly directories = new Set<string>();
  readonly gates = new Set<TcpGate>();

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

  /** A TcpGate to `target` (a port), closed at cleanup. */
  async gate(target: number): Promise<TcpGate> {
    const gate = await TcpGate.start(target);
    this.gates.add(gate);
    return gate;
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
    for (const gate of this.gates) await gate.close();
    await super.cleanup();
    for (const server of this.natsServers) await server.stop();
    for (const path of this.directories) rmSync(path, { recursive: true, force: true });
    this.natsServers.clear();
    this.callers.clear();
    this.bridges.clear();
    this.connections.clear();
    this.directories.clear();
    this.gates.clear();
  }
}
