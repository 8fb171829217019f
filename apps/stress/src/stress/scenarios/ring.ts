// ConcurrentSpscRingBuffer.*: a producer process and a consumer process over
// one ring in a mapped POSIX shared-memory segment; every message is checked
// (FIFO, checksum, size) by the consumer.
import { SharedSegment } from '@phoenix-ipc/native-shm';
import { type RingOptions, SpscRingBuffer } from '@phoenix-ipc/ringbuffer';
import type { RingPeerConfig } from '../protocol.js';
import { CONSUMED_LO, CONTROL_BYTES, PRODUCER_DONE, readCount, STOP } from '../ring-traffic.js';
import {
  check,
  formatCount,
  round,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  zero,
} from '../scenario.js';

interface PeerResult {
  sent?: number;
  received?: number;
  inOrder?: number;
  lost?: number;
  duplicated?: number;
  corrupt?: number;
  wrongSize?: number;
  bytes?: number;
  digest?: number;
  failure?: string | null;
  problems?: string[];
  ms?: number;
  sleeps?: number;
  stopped?: boolean;
}

async function runRing(context: ScenarioContext, ring: RingOptions): Promise<ScenarioResult> {
  const name = context.segmentName('ring');
  const size = CONTROL_BYTES + SpscRingBuffer.requiredBytes(ring);
  const segment = SharedSegment.open(name, { create: true, exclusive: true, size });
  context.resources.onCleanup(() => segment.close());
  const formatted = SpscRingBuffer.format(segment.buffer, CONTROL_BYTES, ring);
  const control = new Int32Array(segment.buffer, 0, CONTROL_BYTES / 4);
  const peer = (role: 'producer' | 'consumer'): RingPeerConfig => ({
    segment: name,
    role,
    seed: context.seed,
    maxMessageSize: ring.maxMessageSize,
    durationMs: context.durationMs,
    selfTestDuplicate: role === 'producer' && context.selfTestFail,
  });
  const consumer = context.spawn('consumer', 'ring-peer', peer('consumer'));
  const producer = context.spawn('producer', 'ring-peer', peer('producer'));
  const limit = context.durationMs + 30_000;
  const results = Promise.all([producer.waitFor('result', limit), consumer.waitFor('result', limit)]);
  // If either side dies, the other must not wait for it forever.
  const dead = Promise.race([producer.exited, consumer.exited]).then(() => Atomics.store(control, STOP, 1));
  void dead;

  const started = Date.now();
  let lastCount = 0;
  let lastAt = started;
  const poll = setInterval(() => {
    const consumed = readCount(control, CONSUMED_LO);
    const now = Date.now();
    const rate = ((consumed - lastCount) / Math.max(1, now - lastAt)) * 1000;
    lastCount = consumed;
    lastAt = now;
    const done = Atomics.load(control, PRODUCER_DONE) !== 0;
    context.progress(
      done ? 1 : (now - started) / context.durationMs,
      `${formatCount(consumed)} msgs, ${formatCount(rate)}/s${done ? ', draining' : ''}`,
    );
  }, 250);
  let produced: PeerResult;
  let consumed: PeerResult;
  try {
    const [p, c] = await results;
    produced = p.result as PeerResult;
    consumed = c.result as PeerResult;
  } catch (error) {
    Atomics.store(control, STOP, 1);
    throw error;
  } finally {
    clearInterval(poll);
  }
  const seconds = (produced.ms ?? 1) / 1000;
  const received = consumed.received ?? 0;
  const sent = produced.sent ?? 0;
  const lost = consumed.lost ?? 0;
  const duplicated = consumed.duplicated ?? 0;
  const corrupt = (consumed.corrupt ?? 0) + (consumed.wrongSize ?? 0);
  const perSecond = Math.round(received / seconds);
  const indices = formatted.indices();
  return {
    metrics: {
      ring: { capacity: ring.capacity, maxMessageSize: ring.maxMessageSize, dataBytes: formatted.dataBytes },
      messagesSent: sent,
      messagesReceived: received,
      bytes: consumed.bytes ?? 0,
      messagesPerSecond: perSecond,
      mibPerSecond: round((consumed.bytes ?? 0) / 2 ** 20 / seconds),
      lost,
      duplicated,
      corrupt,
      digestMatch: produced.digest === consumed.digest,
      producerSleeps: produced.sleeps ?? 0,
      consumerSleeps: consumed.sleeps ?? 0,
      ringEmptyAtEnd: indices.headBytes === indices.tailBytes && indices.headCount === indices.tailCount,
      consumerFailure: consumed.failure ?? null,
      problems: consumed.problems ?? [],
    },
    checks: [
      check('messages flowed', sent > 0 && !produced.stopped, sent, '> 0, producer not stopped'),
      check('consumer ran to the end', (consumed.failure ?? null) === null, consumed.failure ?? null, 'no ring error'),
      zero('lost', lost),
      zero('duplicated', duplicated),
      zero('corrupt (checksum or size)', corrupt),
      check('received == sent', received === sent, { sent, received }, 'equal'),
      check(
        'producer and consumer digests match',
        produced.digest === consumed.digest,
        consumed.digest ?? null,
        String(produced.digest),
      ),
      check('ring empty at the end', indices.headBytes === indices.tailBytes, indices, 'head == tail'),
    ],
    summary: `${formatCount(received)} msgs, ${formatCount(perSecond)} msg/s, ${round((consumed.bytes ?? 0) / 2 ** 20 / seconds)} MiB/s, lost ${lost}, duplicated ${duplicated}, corrupt ${corrupt}`,
  };
}

export const ringScenarios: Scenario[] = [
  {
    name: 'ConcurrentSpscRingBuffer.randomSizes',
    description: 'producer and consumer processes over a mapped ring (4096 slots), random sizes 8 B..1 KiB',
    defaultDurationMs: 20_000,
    run: (context) => runRing(context, { capacity: 4096, maxMessageSize: 1024 }),
  },
  {
    name: 'ConcurrentSpscRingBuffer.tinyRing',
    description: 'the same over a 16-slot, 1 KiB ring: constantly full or empty, wrapping every few messages',
    defaultDurationMs: 10_000,
    run: (context) => runRing(context, { capacity: 16, maxMessageSize: 256, dataBytes: 1024 }),
  },
];
