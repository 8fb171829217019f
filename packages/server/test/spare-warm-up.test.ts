import { EventEmitter } from 'node:events';
import { readdirSync } from 'node:fs';
import { PhoenixShmLayout, type WaitStrategy } from '@phoenix-ipc/shm-layout';
import { describe, expect, it } from 'vitest';
import { HandlerRegistry } from '../src/handler-registry.js';
import { SparePool } from '../src/spare-pool.js';
import { warmUpRuntime } from '../src/spare-warm-up.js';
import type { WorkerProcess } from '../src/worker-process.js';

// What a warm spare does before it says 'spare-ready', so that a takeover
// runs code that is compiled already (spare-warm-up.ts).

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A registry whose every handler fails the test if it runs. */
function untouchableHandlers(): { handlers: HandlerRegistry; ran: number[] } {
  const ran: number[] = [];
  const handlers = new HandlerRegistry();
  for (const funcId of [1001, 1002, 2000]) {
    handlers.register(funcId, () => {
      ran.push(funcId);
    });
  }
  return { handlers, ran };
}

describe('warmUpRuntime', () => {
  it.each<[number, WaitStrategy]>([
    [1, 'adaptive'],
    [1, 'block'],
    [1, 'spin'],
    [4, 'adaptive'],
  ])(
    'with concurrency %i and %s waiting: runs a runtime on a scratch layout, closes its doorbell, runs no handler',
    async (concurrency, waitStrategy) => {
      const { handlers, ran } = untouchableHandlers();
      const before = openFds();
      await warmUpRuntime({ concurrency, waitStrategy }, handlers);
      expect(openFds()).toBe(before);
      expect(ran).toEqual([]);
    },
  );
});

/** A spare process as the pool sees it: its messages are ours to emit, what it is sent is recorded. */
class FakeSpare extends EventEmitter implements WorkerProcess {
  readonly pid = 4242;
  readonly connected = true;
  readonly exitCode = null;
  readonly signalCode = null;
  readonly sent: unknown[] = [];

  send(message: unknown): boolean {
    this.sent.push(message);
    return true;
  }

  kill(): boolean {
    return true;
  }
}

describe('SparePool', () => {
  it("answers a spare's 'spare-ready' with a 'spare-ack', so 'take' is never the first message it reads", () => {
    const options = { normalWorkers: 1, vipWorkers: 0, maxClients: 1, normalQueueCapacity: 8, maxPayloadBytes: 64 };
    const layout = PhoenixShmLayout.format(new ArrayBuffer(PhoenixShmLayout.requiredSize(options)), options);
    const spares: FakeSpare[] = [];
    const pool = new SparePool({
      layout,
      perGroup: { normal: 1, vip: 0 },
      restartBackoff: { initialMs: 10, maxMs: 10, factor: 1 },
      maxFailures: 3,
      bootTimeoutMs: 60_000,
      fork: () => {
        const spare = new FakeSpare();
        spares.push(spare);
        return spare;
      },
    });
    pool.start();
    expect(spares).toHaveLength(1);
    expect(spares[0]!.sent).toEqual([]);
    spares[0]!.emit('message', { t: 'spare-ready', pid: 4242 });
    expect(spares[0]!.sent).toEqual([{ t: 'spare-ack' }]);
    expect(pool.take('normal')?.child).toBe(spares[0]);
    pool.killAll();
  });
});
