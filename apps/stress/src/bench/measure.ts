/**
 * The measurements every asynchronous transport goes through (the C program
 * and the raw SharedArrayBuffer rings have synchronous twins of these).
 *
 *   ping-pong 1:1           caller ──request──▶ echo       one call at a time,
 *                           caller ◀──reply──── echo       one latency sample per call
 *
 *   pipelined 1:1 x64       caller ══64 requests══▶ echo   a new call as soon as one
 *                           caller ◀══replies══════ echo   returns: 64 always in flight
 *
 *   idle 1:1                caller ·············· echo     connected, no calls: CPU of
 *                                                          every process of the pair
 *
 * Every reply is compared byte for byte with its request (PayloadPool).
 * CPU: process.cpuUsage() for the caller's process; for the peer's processes
 * the sum of their threads' /proc/<pid>/task/<tid>/schedstat (nanoseconds).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { monotonicClockCell, readMonotonicClock } from '@phoenix-ipc/native-shm';
import { latencyHistogram, summarize } from './histogram.js';
import { PayloadPool } from './payload.js';
import { ownCpuUs, processCpuUs, totalCpuUs, totalMinorFaults } from './proc.js';
import type {
  IdleResult,
  LatencyResult,
  PhasePlan,
  RunPlan,
  SizeResult,
  ThroughputResult,
  TransportResult,
} from './types.js';

/** A process on the far side of a transport, and what it is ('worker', 'supervisor', 'echo'). */
export interface Peer {
  pid: number;
  role: string;
}

/** The caller's side of an echo transport. `R` is whatever its call resolves to. */
export interface EchoTransport<R = unknown> {
  readonly id: string;
  readonly label: string;
  readonly kind: 'process' | 'thread';
  /** Processes on the other side, for CPU and idle figures (none for thread peers). */
  peers(): Peer[];
  /** Sends `payload` and resolves with the echo; the transport may keep `payload` until then. */
  call(payload: Buffer): Promise<R>;
  /** The reply's payload bytes. */
  bytes(reply: R): Uint8Array;
  /** Like call(), with the reply copied into `target` (PhoenixIPC's callInto); absent elsewhere. */
  callInto?(payload: Buffer, target: Uint8Array): Promise<R>;
  /**
   * Sends `payload` for pipelined slot `slot` and hands the echo to
   * `handler` instead of a promise (PhoenixIPC's sendInto, into a buffer of
   * the slot's own); absent elsewhere.
   */
  send?(payload: Buffer, slot: number, handler: SlotHandler<R>): void;
  close(): Promise<void>;
}

/** Where a transport's send() hands a pipelined slot's echo. */
export interface SlotHandler<R> {
  onReply(reply: R): void;
  onError(error: unknown): void;
}

/** Payloads from this size on are also measured through callInto where the transport has it. */
export const BIG_REPLY_BYTES = 64 * 1024;
/** The warm-up before the first ping-pong at a big size (see measureTransport). */
const BIG_WARMUP_MS = 1500;

/** A pipelined phase's figures from its call count, duration and CPU per call. */
export function throughputResult(
  calls: number,
  inFlight: number,
  seconds: number,
  size: number,
  callerCpuUs: number,
  peerCpuUs: number | null,
): ThroughputResult {
  return {
    calls,
    inFlight,
    seconds,
    msgsPerSec: calls / seconds,
    mbPerSec: (calls * size) / seconds / 1e6,
    callerCpuUs,
    peerCpuUs,
  };
}

function perCall(cpuUs: number, calls: number): number {
  return calls > 0 ? cpuUs / calls : 0;
}

/** ping-pong 1:1: warm-up, then sequential calls until the plan's count or time runs out. */
export async function pingPong<R>(
  transport: EchoTransport<R>,
  pool: PayloadPool,
  plan: PhasePlan,
  into: Uint8Array | null = null,
): Promise<LatencyResult> {
  const histogram = latencyHistogram();
  const send = (payload: Buffer) => (into === null ? transport.call(payload) : transport.callInto!(payload, into));
  let call = 0;
  const warmStart = performance.now();
  for (let i = 0; i < plan.warmupCalls || performance.now() - warmStart < plan.warmupMs; i++) {
    const payload = pool.stamp(0, ++call);
    pool.verify(0, transport.bytes(await send(payload)));
  }
  const peers = transport.peers().map((peer) => peer.pid);
  const cpu0 = ownCpuUs();
  const peer0 = totalCpuUs(peers);
  // Page faults of the steady state: after the warm-up, before the first measured call.
  const faults0 = process.resourceUsage().minorPageFault;
  const peerFaults0 = totalMinorFaults(peers);
  const start = performance.now();
  let calls = 0;
  while (calls < plan.maxCalls) {
    const payload = pool.stamp(0, ++call);
    const t0 = performance.now();
    const reply = await send(payload);
    const t1 = performance.now();
    histogram.recordValue(Math.max(1, Math.round((t1 - t0) * 1e6)));
    pool.verify(0, transport.bytes(reply));
    calls++;
    if ((calls & 15) === 0 && t1 - start >= plan.maxMs) break;
  }
  const cpu = ownCpuUs() - cpu0;
  const peer = totalCpuUs(peers) - peer0;
  const faults = process.resourceUsage().minorPageFault - faults0;
  const peerFaults = totalMinorFaults(peers) - peerFaults0;
  const summary = summarize(histogram);
  histogram.destroy();
  return {
    ...summary,
    callerCpuUs: perCall(cpu, calls),
    peerCpuUs: transport.kind === 'thread' ? null : perCall(peer, calls),
    callerMinorFaults: perCall(faults, calls),
    peerMinorFaults: transport.kind === 'thread' ? null : perCall(peerFaults, calls),
  };
}

/**
 * pipelined 1:1 x inFlight, closed loop: keeps `inFlight` calls outstanding,
 * and each completion issues the next call of its slot (the way application
 * code calls; each payload buffer is restamped only after its reply came
 * back). Warms up, then counts the replies of a measured window; the tail is
 * drained, not counted.
 */
/**
 * `api` 'send': through transport.send (handlers, no promise per call) instead of transport.call.
 * `pool`: request buffers kept from an earlier window of the same size (alternating rounds): a fresh
 * pool is 64 x 64 KiB of external memory per window, which V8 frees only in a full collection.
 */
export function pipelined<R>(
  transport: EchoTransport<R>,
  size: number,
  inFlight: number,
  plan: PhasePlan,
  api: 'call' | 'send' = 'call',
  pool: PayloadPool = new PayloadPool(size, inFlight),
): Promise<ThroughputResult & { verified: number }> {
  const send = transport.send;
  if (api === 'send' && send === undefined) throw new Error(`${transport.label} has no send()`);
  if (pool.size !== size || pool.count < inFlight)
    throw new Error(`a pool of ${pool.count} x ${pool.size} B for ${inFlight} x ${size} B`);
  const verifiedBefore = pool.verified;
  const peers = transport.peers().map((peer) => peer.pid);
  return new Promise((resolve, reject) => {
    let issued = 0;
    let completed = 0;
    let outstanding = 0;
    let phase: 'warm' | 'measure' | 'drain' = 'warm';
    let failed = false;
    // The native clock: performance.now() returns a fresh heap number per read, and
    // this loop reads the clock every 8 replies (garbage the million-call run would count).
    const clock = monotonicClockCell;
    readMonotonicClock();
    const warmStart = clock[0]!;
    let t0 = 0;
    let c0 = 0;
    let cpu0 = 0;
    let peer0 = 0;
    let result: ThroughputResult | null = null;

    const advance = () => {
      readMonotonicClock();
      const now = clock[0]!;
      if (phase === 'warm') {
        if (completed >= plan.warmupCalls && now - warmStart >= plan.warmupMs) {
          phase = 'measure';
          t0 = now;
          c0 = completed;
          cpu0 = ownCpuUs();
          peer0 = totalCpuUs(peers);
        }
      } else if (phase === 'measure' && (completed - c0 >= plan.maxCalls || now - t0 >= plan.maxMs)) {
        phase = 'drain';
        const calls = completed - c0;
        result = throughputResult(
          calls,
          inFlight,
          (now - t0) / 1000,
          size,
          perCall(ownCpuUs() - cpu0, calls),
          transport.kind === 'thread' ? null : perCall(totalCpuUs(peers) - peer0, calls),
        );
      }
    };
    const onError = (error: unknown) => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    const launch = (slot: number) => {
      outstanding++;
      if (api === 'send') send!.call(transport, pool.stamp(slot, ++issued), slot, handlers[slot]!);
      else transport.call(pool.stamp(slot, ++issued)).then(onReply[slot]!, onError);
    };
    // One handler per slot, made once: no closure per call.
    const onReply = Array.from({ length: inFlight }, (_, slot) => (reply: R) => {
      outstanding--;
      completed++;
      pool.verify(slot, transport.bytes(reply));
      if (failed) return;
      if ((completed & 7) === 0) advance();
      if (phase !== 'drain') launch(slot);
      else if (outstanding === 0) {
        try {
          pool.assertClean(`${transport.label}, pipelined ${size} B`);
          resolve({ ...result!, verified: pool.verified - verifiedBefore });
        } catch (error) {
          reject(error);
        }
      }
    });
    const handlers = onReply.map((reply): SlotHandler<R> => ({ onReply: reply, onError }));
    for (let slot = 0; slot < inFlight; slot++) launch(slot);
  });
}

/**
 * idle 1:1: CPU of the caller's process and of each peer over `windowMs` with
 * no calls. The window opens `settleMs` after the last call: right after a
 * load burst every V8 process spends a few ms finishing garbage collection,
 * which is not what "idle" means (a steady state with no traffic).
 */
export async function idle(peers: readonly Peer[], windowMs: number, settleMs = 1000): Promise<IdleResult> {
  await sleep(settleMs);
  const own0 = ownCpuUs();
  const peer0 = peers.map((peer) => processCpuUs(peer.pid));
  const t0 = performance.now();
  await sleep(windowMs);
  const elapsedUs = (performance.now() - t0) * 1000;
  const percent = (cpuUs: number) => (cpuUs / elapsedUs) * 100;
  const breakdown = [
    { role: 'caller', pid: process.pid, percentOfCore: percent(ownCpuUs() - own0) },
    ...peers.map((peer, i) => ({ ...peer, percentOfCore: percent(processCpuUs(peer.pid) - peer0[i]!) })),
  ];
  return {
    windowMs: Math.round(elapsedUs / 1000),
    percentOfCore: breakdown.reduce((sum, entry) => sum + entry.percentOfCore, 0),
    processes: breakdown.length,
    breakdown,
  };
}

/** Every phase of the plan, for each payload size, then idle. Throws if any reply was wrong. */
export async function measureTransport<R>(transport: EchoTransport<R>, plan: RunPlan): Promise<TransportResult> {
  const started = performance.now();
  const sizes: SizeResult[] = [];
  let verified = 0;
  for (const size of plan.sizes) {
    const pool = new PayloadPool(size, 1);
    // Big payloads right after the pipelined phase of the size before: the
    // peers take about a second to settle at the new size (their page faults,
    // counted per call from here, came in that second, from whichever phase
    // ran first: measured by swapping the two 64 KiB phases).
    const warm =
      size >= BIG_REPLY_BYTES && plan.latency.warmupMs > 0
        ? { ...plan.latency, warmupMs: Math.max(plan.latency.warmupMs, BIG_WARMUP_MS) }
        : plan.latency;
    const latency = await pingPong(transport, pool, warm);
    pool.assertClean(`${transport.label}, ping-pong ${size} B`);
    verified += pool.verified;
    // Big replies: the same ping-pong into one reused buffer (no fresh memory per reply), where there is callInto.
    let latencyInto: LatencyResult | undefined;
    if (transport.callInto !== undefined && size >= BIG_REPLY_BYTES) {
      const intoPool = new PayloadPool(size, 1);
      latencyInto = await pingPong(transport, intoPool, plan.latency, Buffer.allocUnsafeSlow(size));
      intoPool.assertClean(`${transport.label}, ping-pong ${size} B into a reused buffer`);
      verified += intoPool.verified;
    }
    const { verified: pipelinedVerified, ...throughput } = await pipelined(
      transport,
      size,
      plan.inFlight,
      plan.throughput,
    );
    verified += pipelinedVerified;
    const result: SizeResult = { payloadBytes: size, latency, throughput };
    if (latencyInto !== undefined) result.latencyInto = latencyInto;
    if (transport.send !== undefined) {
      const { verified: sendVerified, ...throughputSend } = await pipelined(
        transport,
        size,
        plan.inFlight,
        plan.throughput,
        'send',
      );
      verified += sendVerified;
      result.throughputSend = throughputSend;
    }
    sizes.push(result);
  }
  const idleResult = plan.idleMs > 0 ? await idle(transport.peers(), plan.idleMs) : null;
  return {
    id: transport.id,
    label: transport.label,
    kind: transport.kind,
    sizes,
    idle: idleResult,
    verified,
    durationMs: Math.round(performance.now() - started),
  };
}
