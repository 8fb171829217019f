/**
 * PhoenixIPC, one echo worker (normalWorkers 1, vipWorkers 0), the same wait
 * strategy on every side:
 *
 *   client→worker       client process ──request ring──▶ worker process
 *                                      ◀─response ring──
 *                       (supervisor process: admitted the client, then idle)
 *
 *   supervisor→worker   supervisor process ──request ring──▶ worker process
 *                                          ◀─response ring──
 *
 * The handler copies the request into the reply in shared memory (a raw
 * handler: offsets into the rings, no views); the caller's Reply.payload is
 * its own copy (callInto, sendInto: a view of the caller's buffer).
 */
import type { ChildProcess } from 'node:child_process';
import { IpcClient, type Reply, type WaitStrategy } from '@phoenix-ipc/client';
import { statSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import type { IpcServer } from '@phoenix-ipc/server';
import { ECHO_FUNC_ID } from '../echo-handler.js';
import type { EchoTransport } from '../measure.js';
import { peerScript } from '../paths.js';
import type { RssSample, RunPlan, TransportResult } from '../types.js';
import { endChild, forkPeer } from './child.js';

/** What the supervisor peer (peers/phoenix-server) is started with. */
export interface PhoenixServerConfig {
  name: string;
  workers: number;
  waitStrategy: WaitStrategy;
  maxClients: number;
  /** The workers' peer script (default 'phoenix-worker', the echo worker). */
  worker?: string;
  /** Default: the layout's default. */
  maxPayloadBytes?: number;
  /** Requests a worker runs at once (default 1: replies written in place; more: copied from each lane's scratch). */
  concurrency?: number;
}

export type ServerRequest = { t: 'bench'; plan: RunPlan } | { t: 'stats' } | { t: 'stop' };
export type ServerReply =
  | { t: 'ready'; supervisorPid: number; workerPids: number[] }
  | { t: 'result'; result: TransportResult }
  | { t: 'stats'; supervisor: RssSample; workers: (RssSample & { processed: number })[] }
  | { t: 'error'; message: string };

/** A PhoenixIPC server (supervisor + workers) in its own process, driven over its IPC channel. */
export class PhoenixServerProcess {
  readonly config: PhoenixServerConfig;
  readonly supervisorPid: number;
  readonly workerPids: number[];
  readonly #child: ChildProcess;

  private constructor(
    config: PhoenixServerConfig,
    child: ChildProcess,
    ready: { supervisorPid: number; workerPids: number[] },
  ) {
    this.config = config;
    this.#child = child;
    this.supervisorPid = ready.supervisorPid;
    this.workerPids = ready.workerPids;
  }

  static async start(config: PhoenixServerConfig): Promise<PhoenixServerProcess> {
    const { child, ready } = await forkPeer<ServerReply & { t: 'ready' }>(
      peerScript('phoenix-server'),
      [JSON.stringify(config)],
      { serialization: 'json' },
      60_000,
    );
    return new PhoenixServerProcess(config, child, ready);
  }

  /** Every process of the server: supervisor first. */
  get peers(): { pid: number; role: string }[] {
    return [
      { pid: this.supervisorPid, role: 'supervisor' },
      ...this.workerPids.map((pid) => ({ pid, role: 'worker' })),
    ];
  }

  #request<T extends ServerReply['t']>(request: ServerRequest, expect: T): Promise<ServerReply & { t: T }> {
    const child = this.#child;
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`the PhoenixIPC server exited (code ${code}, signal ${signal})`));
      child.once('exit', onExit);
      child.once('message', (reply: ServerReply) => {
        child.off('exit', onExit);
        if (reply.t === expect) resolve(reply as ServerReply & { t: T });
        else reject(new Error(reply.t === 'error' ? reply.message : `unexpected ${reply.t} from the server`));
      });
      child.send(request);
    });
  }

  /** Runs the supervisor→worker benchmark inside the supervisor. */
  async bench(plan: RunPlan): Promise<TransportResult> {
    return (await this.#request({ t: 'bench', plan }, 'result')).result;
  }

  async stats(): Promise<{ supervisor: RssSample; workers: (RssSample & { processed: number })[] }> {
    const { supervisor, workers } = await this.#request({ t: 'stats' }, 'stats');
    return { supervisor, workers };
  }

  /** Stops the server (it unlinks its segment); unlinks it here too if the server could not. */
  async stop(): Promise<void> {
    await endChild(this.#child, 8000, { t: 'stop' } satisfies ServerRequest);
    if (statSegment(this.config.name).exists) unlinkSegment(this.config.name);
  }
}

export function phoenixSupervisorTransport(server: IpcServer, strategy: WaitStrategy): EchoTransport<Reply> {
  return {
    id: `phoenix-supervisor-${strategy}`,
    label: `PhoenixIPC supervisor→worker, ${strategy}`,
    kind: 'process',
    peers: () => server.getWorkerStats().map((worker) => ({ pid: worker.pid, role: 'worker' })),
    call: (payload) => server.callAsync(ECHO_FUNC_ID, payload),
    bytes: (reply) => reply.payload,
    close: async () => {},
  };
}

/** A client process (this one) calling a one-worker server it starts. */
export async function phoenixClientTransport(
  name: string,
  strategy: WaitStrategy,
  concurrency = 1,
): Promise<EchoTransport<Reply>> {
  const server = await PhoenixServerProcess.start({
    name,
    workers: 1,
    waitStrategy: strategy,
    maxClients: 4,
    concurrency,
  });
  const client = IpcClient.create(name, { waitStrategy: strategy });
  try {
    await client.connect(10_000);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    id: concurrency === 1 ? `phoenix-client-${strategy}` : `phoenix-client-${strategy}-concurrency-${concurrency}`,
    label: `PhoenixIPC client→worker, ${strategy}${concurrency === 1 ? '' : `, concurrency ${concurrency}`}`,
    kind: 'process',
    peers: () => server.peers,
    call: (payload) => client.callAsync(ECHO_FUNC_ID, payload),
    callInto: (payload, target) => client.callInto(ECHO_FUNC_ID, payload, target),
    send: sendThrough(client),
    bytes: (reply) => reply.payload,
    async close() {
      await client.disconnect();
      await server.stop();
    },
  };
}

/** An EchoTransport's send() through `caller`'s sendInto: each pipelined slot has a target buffer of its own. */
export function sendThrough(caller: Pick<IpcClient, 'sendInto'>): NonNullable<EchoTransport<Reply>['send']> {
  const targets: Uint8Array[] = [];
  return (payload, slot, handler) => {
    let target = targets[slot];
    if (target === undefined || target.length < payload.length) {
      target = new Uint8Array(payload.length);
      targets[slot] = target;
    }
    caller.sendInto(ECHO_FUNC_ID, payload, target, handler);
  };
}
