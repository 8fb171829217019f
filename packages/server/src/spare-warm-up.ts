import { setImmediate as nextTurn } from 'node:timers/promises';
import { closeFd, createEventFd } from '@phoenix-ipc/native-shm';
import { type LayoutOptions, PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import type { HandlerRegistry } from './handler-registry.js';
import { WorkerRuntime } from './worker-runtime.js';

/**
 * A warm spare's last step before it says 'spare-ready': build, start and
 * stop one WorkerRuntime on a scratch layout of its own, so that the code it
 * runs when it takes over a channel is compiled already.
 *
 * Why: V8 compiles a function when it first runs. A spare that built its
 * first runtime only after 'take' spent 2.6 ms of CPU (p50) between 'take'
 * and 'ready' in the randomKills stress scenario. Takeovers happen when the
 * machine is crowded (a crash, callers retrying), where a process gets the
 * CPU a slice at a time: a few ms of CPU there become tens of ms of waiting.
 *
 * The scratch layout lives in an ArrayBuffer of this process (no segment, no
 * other process sees it), has one worker and one caller slot, and the real
 * layout's concurrency and wait strategy (the same publisher and waiter code).
 * Its doorbell is an eventfd of its own, closed afterwards. No request ever
 * reaches it, so no handler runs.
 */
export async function warmUpRuntime(template: LayoutOptions, handlers: HandlerRegistry): Promise<void> {
  const options: LayoutOptions = {
    ...template,
    normalWorkers: 1,
    vipWorkers: 0,
    maxClients: 1,
    normalQueueCapacity: 8,
    vipQueueCapacity: 8,
    maxPayloadBytes: 64,
  };
  const layout = PhoenixShmLayout.format(new ArrayBuffer(PhoenixShmLayout.requiredSize(options)), options);
  const doorbell = createEventFd();
  try {
    const runtime = new WorkerRuntime({
      layout,
      channel: layout.getChannel('normal', 0),
      doorbellFd: doorbell,
      slotDoorbellFds: layout.slots.map(() => doorbell),
      handlers,
      waitStrategy: options.waitStrategy ?? 'adaptive',
    });
    runtime.start();
    // One pass of its loop (it finds nothing, waits, parks), then stop.
    await nextTurn();
    await runtime.stop();
  } finally {
    closeFd(doorbell);
  }
}
