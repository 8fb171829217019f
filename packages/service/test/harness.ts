import { fileURLToPath } from 'node:url';
import { unlinkSegment } from '@phoenix-ipc/native-shm';
import type { IpcClient, IpcServer } from '@phoenix-ipc/server';
import { ProcessHarness, ScriptProcess, sleep } from '@phoenix-ipc/test-kit';

/** Real processes and real /dev/shm entries, always cleaned up (even when a test fails). */
export const KITCHEN_CLUSTER = fileURLToPath(new URL('./fixtures/kitchen-cluster.mjs', import.meta.url));

const PREFIX = `phx-svc${process.pid}-`;

/** A supervisor in its own process (fixtures/kitchen-cluster.mjs): prints {"ready":true}, stops on "stop". */
export class ClusterProcess extends ScriptProcess {
  constructor(name: string, options: object, env: NodeJS.ProcessEnv = {}) {
    super(KITCHEN_CLUSTER, [name, JSON.stringify(options)], env);
  }

  /** Waits for the supervisor's {"ready":true} line. */
  async ready(timeoutMs = 30_000): Promise<void> {
    await this.waitFor('ready', timeoutMs);
  }

  /** Asks the supervisor to stop (it stops its workers), SIGKILL after 5 s. */
  override stop(command = 'stop', graceMs = 5000): Promise<void> {
    return super.stop(command, graceMs);
  }
}

/** Tracks everything a test creates (segments, clusters, in-process servers and clients) and tears it all down. */
export class Harness extends ProcessHarness {
  readonly #servers = new Set<IpcServer>();
  readonly #clients = new Set<IpcClient>();

  constructor() {
    super({ prefix: PREFIX, unlinkSegment });
  }

  cluster(name: string, options: object, env: NodeJS.ProcessEnv = {}): ClusterProcess {
    const cluster = new ClusterProcess(name, options, env);
    this.scripts.add(cluster);
    return cluster;
  }

  server(server: IpcServer): IpcServer {
    this.#servers.add(server);
    return server;
  }

  client(client: IpcClient): IpcClient {
    this.#clients.add(client);
    return client;
  }

  override async cleanup(): Promise<void> {
    for (const client of this.#clients) await client.disconnect().catch(() => undefined);
    for (const server of this.#servers) {
      await Promise.race([server.stop({ graceMs: 0 }).catch(() => undefined), sleep(5000)]);
    }
    this.#servers.clear();
    this.#clients.clear();
    await super.cleanup();
  }
}
