/**
 * The raw JS limit: two threads of one process ping-ponging through the
 * SharedArrayBuffer rings of sab-rings.ts, synchronously, no library, no
 * promise, no allocation per call (the reply is copied into one buffer).
 *
 *   ping-pong 1:1       main thread ──request slot──▶ echo thread
 *                                   ◀─response slot──
 *   pipelined 1:1 x64   up to 64 request slots filled before the replies are taken
 *
 * 'spin': both sides busy-poll (a core each while waiting). 'wait': the waiter
 * parks in Atomics.wait and is woken by Atomics.notify.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { latencyHistogram, summarize } from '../histogram.js';
import { idle, throughputResult } from '../measure.js';
import { peerScript } from '../paths.js';
import { PayloadPool } from '../payload.js';
import { ownCpuUs } from '../proc.js';
import { SabRing, type SabWaitMode, SLOT_HEADER_BYTES, STOP_ID, sabBytes } from '../sab-rings.js';
import type { LatencyResult, PhasePlan, RunPlan, SizeResult, ThroughputResult, TransportResult } from '../types.js';

class SabCaller {
  readonly requests: SabRing;
  readonly responses: SabRing;
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  readonly reply: Buffer;
  sent = 0;
  received = 0;

  constructor(buffer: SharedArrayBuffer, maxPayloadBytes: number, mode: SabWaitMode) {
    this.requests = new SabRing(buffer, 'request', maxPayloadBytes, mode);
    this.responses = new SabRing(buffer, 'response', maxPayloadBytes, mode);
    this.words = this.requests.words;
    this.bytes = new Uint8Array(buffer);
    this.reply = Buffer.alloc(maxPayloadBytes);
  }

  send(id: number, payload: Uint8Array): void {
    const slot = this.requests.slot(this.sent);
    this.words[slot >> 2] = payload.length;
    this.words[(slot >> 2) + 1] = id;
    this.bytes.set(payload, slot + SLOT_HEADER_BYTES);
    this.requests.publish(this.sent);
    this.sent = (this.sent + 1) | 0;
  }

  /** Waits for the next reply, copies it into `reply`; returns a view of it. */
  take(): Buffer {
    this.responses.waitReadable(this.received);
    const slot = this.responses.slot(this.received);
    const length = this.words[slot >> 2]!;
    this.reply.set(this.bytes.subarray(slot + SLOT_HEADER_BYTES, slot + SLOT_HEADER_BYTES + length));
    this.responses.release(this.received);
    this.received = (this.received + 1) | 0;
    return this.reply.subarray(0, length);
  }

  get hasReply(): boolean {
    return this.responses.readable(this.received);
  }
}

function pingPong(caller: SabCaller, pool: PayloadPool, plan: PhasePlan): LatencyResult {
  const histogram = latencyHistogram();
  let call = 0;
  const warmStart = performance.now();
  for (let i = 0; i < plan.warmupCalls || performance.now() - warmStart < plan.warmupMs; i++) {
    caller.send(++call, pool.stamp(0, call));
    pool.verify(0, caller.take());
  }
  const cpu0 = ownCpuUs();
  const start = performance.now();
  let calls = 0;
  while (calls < plan.maxCalls) {
    const payload = pool.stamp(0, ++call);
    const t0 = performance.now();
    caller.send(call, payload);
    const reply = caller.take();
    const t1 = performance.now();
    histogram.recordValue(Math.max(1, Math.round((t1 - t0) * 1e6)));
    pool.verify(0, reply);
    calls++;
    if ((calls & 15) === 0 && t1 - start >= plan.maxMs) break;
  }
  const cpu = ownCpuUs() - cpu0;
  const summary = summarize(histogram);
  histogram.destroy();
  return { ...summary, callerCpuUs: cpu / calls, peerCpuUs: null };
}

function pipelined(
  caller: SabCaller,
  size: number,
  inFlight: number,
  plan: PhasePlan,
): ThroughputResult & { verified: number } {
  const pool = new PayloadPool(size, inFlight);
  let sent = 0;
  let received = 0;
  let phase: 'warm' | 'measure' | 'drain' = 'warm';
  const warmStart = performance.now();
  let t0 = 0;
  let r0 = 0;
  let cpu0 = 0;
  let result: ThroughputResult | null = null;
  for (;;) {
    while (phase !== 'drain' && sent - received < inFlight) {
      caller.send(sent, pool.stamp(sent % inFlight, sent));
      sent++;
    }
    if (received === sent) break;
    do {
      pool.verify(received % inFlight, caller.take());
      received++;
    } while (received !== sent && caller.hasReply);
    const now = performance.now();
    if (phase === 'warm' && received >= plan.warmupCalls && now - warmStart >= plan.warmupMs) {
      phase = 'measure';
      t0 = now;
      r0 = received;
      cpu0 = ownCpuUs();
    } else if (phase === 'measure' && (received - r0 >= plan.maxCalls || now - t0 >= plan.maxMs)) {
      phase = 'drain';
      const calls = received - r0;
      result = throughputResult(calls, inFlight, (now - t0) / 1000, size, (ownCpuUs() - cpu0) / calls, null);
    }
  }
  pool.assertClean(`raw SharedArrayBuffer rings, pipelined ${size} B`);
  return { ...result!, verified: pool.verified };
}

export async function measureSab(mode: SabWaitMode, plan: RunPlan): Promise<TransportResult> {
  const started = performance.now();
  const maxPayloadBytes = Math.max(...plan.sizes);
  const buffer = new SharedArrayBuffer(sabBytes(maxPayloadBytes));
  const worker = new Worker(peerScript('sab-echo'), { workerData: { buffer, maxPayloadBytes, mode } });
  let failure: Error | null = null;
  worker.on('error', (error) => {
    failure = error;
  });
  await new Promise<void>((resolve) => worker.once('online', resolve));
  const caller = new SabCaller(buffer, maxPayloadBytes, mode);
  try {
    const sizes: SizeResult[] = [];
    let verified = 0;
    for (const size of plan.sizes) {
      const pool = new PayloadPool(size, 1);
      const latency = pingPong(caller, pool, plan.latency);
      pool.assertClean(`raw SharedArrayBuffer rings, ping-pong ${size} B`);
      verified += pool.verified;
      const { verified: pipelinedVerified, ...throughput } = pipelined(caller, size, plan.inFlight, plan.throughput);
      verified += pipelinedVerified;
      sizes.push({ payloadBytes: size, latency, throughput });
      // Let the event loop run between sizes (the echo thread's errors, signals).
      await sleep(0);
      if (failure !== null) throw failure;
    }
    const idleResult = plan.idleMs > 0 ? await idle([], plan.idleMs) : null;
    return {
      id: `js-sab-${mode}`,
      label: `raw JS rings over SharedArrayBuffer, ${mode === 'spin' ? 'busy-spin' : 'Atomics.wait/notify'} (threads)`,
      kind: 'thread',
      sizes,
      idle: idleResult,
      verified,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    caller.send(STOP_ID, new Uint8Array(0));
    await worker.terminate();
  }
}
