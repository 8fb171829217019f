/**
 * Over NATS, each side a process, through a nats-server on a free loopback
 * port (started with @phoenix-ipc/nats/testing, in the runner's process group):
 *
 *   nats-echo      caller ──request──▶ nats-server ──▶ echo process
 *                  (nats.js request)  ◀─────reply──── (msg.respond(msg.data))
 *
 *   nats-phoenix   NatsCaller ──▶ nats-server ──▶ bridge (supervisor) ──shm──▶ worker (echo handler)
 *                             ◀──────────────────                   ◀──shm──
 *
 * nats-echo is the plain request/reply the bridge is judged against: the
 * bridge's cost is nats-phoenix over nats-echo, measured in the same run.
 */
import type { ChildProcess } from 'node:child_process';
import { connect, type Msg } from '@nats-io/transport-node';
import type { WaitStrategy } from '@phoenix-ipc/client';
import { statSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import { NatsCaller, type NatsReply } from '@phoenix-ipc/nats';
import { NatsServer } from '@phoenix-ipc/nats/testing';
import { ECHO_FUNC_ID } from '../echo-handler.js';
import type { EchoTransport } from '../measure.js';
import { peerScript } from '../paths.js';
import { endChild, forkPeer } from './child.js';

export const NATS_ECHO_SUBJECT = 'bench.echo';

/** What peers/nats-bridge is started with. */
export interface NatsBridgeConfig {
  name: string;
  url: string;
  service: string;
  waitStrategy: WaitStrategy;
}

/**
 * The wait strategy of the bridge's server: the default, 'adaptive'. Between
 * NATS requests (~0.3 ms apart) its worker parks anyway, but the supervisor's
 * call spins for the reply instead of paying a second wake-up. Measured side
 * by side (nats-pair) on this machine kind: 'block' added 1.33-1.36× to the
 * plain NATS echo's p50, 'adaptive' 1.19-1.26×, with the same calls/s.
 */
export const NATS_BRIDGE_WAIT_STRATEGY: WaitStrategy = 'adaptive';

/**
 * Calls made before the plan's warm-up. A round trip through NATS takes a few
 * hundred µs, so the plan's time-based warm-up (300 ms) is only a few hundred
 * calls: too few for V8 to optimise the code of the four processes on the
 * bridge's path (measured: the first 2000 calls are 20-40% slower).
 */
const NATS_WARMUP_CALLS = 3000;

/** Starts what `open` needs after a nats-server, then warms it up; stops that server if anything fails. */
async function withNatsServer<R>(open: (nats: NatsServer) => Promise<EchoTransport<R>>): Promise<EchoTransport<R>> {
  const nats = await NatsServer.start();
  try {
    const transport = await open(nats);
    try {
      const payload = Buffer.alloc(16, 7);
      for (let i = 0; i < NATS_WARMUP_CALLS; i++) await transport.call(payload);
    } catch (error) {
      await transport.close();
      throw error;
    }
    return {
      ...transport,
      peers: () => [{ pid: nats.pid, role: 'nats-server' }, ...transport.peers()],
      async close() {
        await transport.close();
        await nats.stop();
      },
    };
  } catch (error) {
    await nats.stop();
    throw error;
  }
}

export function natsEchoTransport(): Promise<EchoTransport<Msg>> {
  return withNatsServer(async (nats) => {
    const { child } = await forkPeer(peerScript('nats-echo'), [nats.url], {});
    const nc = await connect({ servers: nats.url, name: 'bench nats-echo caller' });
    return {
      id: 'nats-echo',
      label: 'NATS request/reply echo (nats.js; the bridge is judged against it)',
      kind: 'process',
      peers: () => [{ pid: child.pid ?? 0, role: 'echo' }],
      call: (payload) => nc.request(NATS_ECHO_SUBJECT, payload, { timeout: 30_000 }),
      bytes: (reply) => reply.data,
      async close() {
        await nc.close();
        await endChild(child);
      },
    };
  });
}

export function natsPhoenixTransport(segment: string): Promise<EchoTransport<NatsReply>> {
  return withNatsServer(async (nats) => {
    const config: NatsBridgeConfig = {
      name: segment,
      url: nats.url,
      service: 'bench',
      waitStrategy: NATS_BRIDGE_WAIT_STRATEGY,
    };
    let child: ChildProcess | null = null;
    try {
      const started = await forkPeer<{ t: 'ready'; supervisorPid: number; workerPids: number[] }>(
        peerScript('nats-bridge'),
        [JSON.stringify(config)],
        { serialization: 'json' },
        60_000,
      );
      child = started.child;
      const { supervisorPid, workerPids } = started.ready;
      const caller = await NatsCaller.connect({ servers: nats.url }, config.service, { defaultTimeoutMs: 30_000 });
      const bridgeProcess = child;
      return {
        id: 'nats-phoenix',
        label: 'PhoenixIPC over NATS: NatsCaller→bridge→worker',
        kind: 'process',
        peers: () => [{ pid: supervisorPid, role: 'bridge' }, ...workerPids.map((pid) => ({ pid, role: 'worker' }))],
        call: (payload) => caller.callAsync(ECHO_FUNC_ID, payload),
        bytes: (reply) => reply.payload,
        async close() {
          await caller.close();
          await endChild(bridgeProcess, 8000, { t: 'stop' });
          if (statSegment(segment).exists) unlinkSegment(segment);
        },
      };
    } catch (error) {
      if (child !== null) await endChild(child, 8000, { t: 'stop' });
      if (statSegment(segment).exists) unlinkSegment(segment);
      throw error;
    }
  });
}
