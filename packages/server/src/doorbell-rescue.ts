/**
 * The safety net for a lost doorbell, run on the supervisor's heartbeat.
 *
 * Callers ring a worker only when its PARKED word says it sleeps (Dekker
 * style: no wake-up is lost between two honest peers). A broken peer that
 * overwrites that word could leave requests queued with nobody to wake the
 * worker. Each heartbeat, a channel with requests pending and no transaction
 * begun since the tick before has its doorbell rung: a spare wake-up for a
 * worker that is only busy with a long handler, the rescue for one asleep.
 *
 * This used to be a timer in every worker; one look in the supervisor, which
 * ticks anyway, lets an idle worker sleep with no timer at all.
 */
import { signalEventFd } from '@phoenix-ipc/native-shm';
import type { PhoenixShmLayout, WorkerChannel } from '@phoenix-ipc/shm-layout';

export interface DoorbellRescueOptions {
  layout: PhoenixShmLayout;
  /** The doorbell (eventfd) of each channel, by global index. */
  doorbellFds: readonly number[];
  /** Whether a process serves the channel now (a dead one is the exit handler's business). */
  served: (globalIndex: number) => boolean;
}

export class DoorbellRescue {
  readonly #options: DoorbellRescueOptions;
  /** Each channel's transactions begun, at the last look. */
  readonly #lastBegun: number[];

  constructor(options: DoorbellRescueOptions) {
    this.#options = options;
    this.#lastBegun = options.layout.channels.map(transactionsBegun);
  }

  /** Whether any channel has requests in flight (the heartbeat then keeps its active period). */
  busy(): boolean {
    for (const channel of this.#options.layout.channels) if (channel.pending > 0) return true;
    return false;
  }

  /** One look at every channel, ringing the stalled ones. */
  look(): void {
    const { layout, doorbellFds, served } = this.#options;
    for (const channel of layout.channels) {
      const begun = transactionsBegun(channel);
      const stalled = begun === this.#lastBegun[channel.globalIndex];
      this.#lastBegun[channel.globalIndex] = begun;
      if (!stalled || channel.pending === 0 || !served(channel.globalIndex)) continue;
      // PENDING is the callers' count; the rings say whether anything waits to be taken.
      if (layout.queuedRequests(channel) === 0) continue;
      signalEventFd(doorbellFds[channel.globalIndex]!);
    }
  }
}

/** Transactions begun on a channel so far: moves whenever its worker takes a request. */
function transactionsBegun(channel: WorkerChannel): number {
  let sum = 0;
  for (const monitor of channel.monitors) sum += monitor.getTransaction();
  return sum;
}
