/**
 * The supervisor owns the segment, and a broken peer may write anywhere in
 * it. Two repairs live here: on each heartbeat, everything the supervisor
 * publishes is put back (repairSegment); and a channel (worker, caller slot)
 * that failed validation is reformatted, with its caller's cooperation,
 * before the worker's replacement starts (CorruptChannels, resetChannels).
 */
import type { CallerEngine } from '@phoenix-ipc/client/internal';
import {
  type PhoenixShmLayout,
  SlotState,
  SUPERVISOR_SLOT,
  SupervisorState,
  type WorkerChannel,
  type WorkerState,
} from '@phoenix-ipc/shm-layout';
import type { ClientAdmission } from './client-admission.js';
import type { SegmentIdentity } from './segment-owner.js';

/** How long a client has to ack a channel reset before it is disconnected. */
const CHANNEL_RESET_ACK_MS = 2000;

/** The supervisor's own copy of a worker's published record. */
export interface PublishedWorker {
  readonly channel: WorkerChannel;
  readonly state: WorkerState;
  readonly crashes: number;
  readonly restarts: number;
  /** The current process id, or null when there is none (the record keeps the last one). */
  readonly livePid: number | null;
}

export interface SegmentRepairInput {
  identity: SegmentIdentity | null;
  running: boolean;
  workers: readonly PublishedWorker[];
  expectedSlot: (slotIndex: number) => { state: SlotState; generation: number | undefined };
}

/**
 * The channels (worker, active slot) whose ring headers fail validation:
 * garbage there goes unseen by the two sides, which work from their own
 * copies of the geometry, yet a replacement could not attach, and the
 * doorbell rescue cannot see what waits. Each is reset like a channel a
 * side reported. `isActive` is the supervisor's own view of a slot, not the
 * state word a broken peer may have written: a free slot's rings are
 * formatted when it is next admitted, and its reset would format nothing.
 */
export function corruptRingHeaders(
  layout: PhoenixShmLayout,
  isActive: (slot: number) => boolean,
): { globalIndex: number; slot: number }[] {
  const corrupt: { globalIndex: number; slot: number }[] = [];
  for (const channel of layout.channels) {
    for (const slot of corruptSlotsOf(layout, channel, isActive))
      corrupt.push({ globalIndex: channel.globalIndex, slot });
  }
  return corrupt;
}

/** The active slots (by `isActive`) whose rings with `channel` have a header attach() would refuse. */
export function corruptSlotsOf(
  layout: PhoenixShmLayout,
  channel: WorkerChannel,
  isActive: (slot: number) => boolean,
): number[] {
  const corrupt: number[] = [];
  for (let slot = 0; slot < layout.slots.length; slot++) {
    // Without attaching (a ring object per ring and per heartbeat was most of an idle tick's cost).
    if (isActive(slot) && channel.ringHeaderProblem(slot) !== null) corrupt.push(slot);
  }
  return corrupt;
}

// Puts back whatever a broken peer overwrote among the things the
// supervisor publishes: header, static record fields, worker and slot
// states, the pending counters it keeps itself, and PARKED words that say
// neither 0 nor 1 (as 1: a producer then rings, and a spurious wake-up costs
// nothing, where a sleeper nobody rings would wait for ever).
export function repairSegment(layout: PhoenixShmLayout, input: SegmentRepairInput): void {
  if (input.identity !== null) layout.repairHeader(input.identity);
  if (input.running && layout.supervisorState !== SupervisorState.Running)
    layout.supervisorState = SupervisorState.Running;
  layout.repairRecords();
  for (const worker of input.workers) {
    const channel = worker.channel;
    if (channel.state !== worker.state) channel.state = worker.state;
    if (channel.crashes !== worker.crashes) channel.crashes = worker.crashes;
    if (channel.restarts !== worker.restarts) channel.restarts = worker.restarts;
    if (worker.livePid !== null && channel.pid !== worker.livePid) channel.pid = worker.livePid;
    repairPending(layout, channel);
    repairParked(layout.views.words, channel.parkedIndex);
  }
  for (const slot of layout.slots) repairParked(layout.views.words, slot.parkedIndex);
  let changed = false;
  for (const slot of layout.slots) {
    const expected = input.expectedSlot(slot.index);
    if (slot.state !== expected.state) {
      slot.state = expected.state;
      changed = true;
    }
    if (expected.generation !== undefined && slot.generation !== expected.generation) {
      slot.generation = expected.generation;
      changed = true;
    }
  }
  if (changed) layout.bumpSlotEpoch();
}

// A pending count outside what the rings can hold is recounted from the
// active slots' outstanding counters.
function repairPending(layout: PhoenixShmLayout, channel: WorkerChannel): void {
  const words = layout.views.words;
  const raw = Atomics.load(words, channel.pendingIndex);
  const capacity = channel.group === 'normal' ? layout.options.normalQueueCapacity : layout.options.vipQueueCapacity;
  if (raw >= 0 && raw <= capacity * layout.slots.length) return;
  let sum = 0;
  for (const slot of layout.slots)
    if (slot.state === SlotState.Active) sum += Math.max(0, Math.min(capacity, slot.outstanding(channel.globalIndex)));
  Atomics.store(words, channel.pendingIndex, sum);
}

function repairParked(words: Int32Array, index: number): void {
  const parked = Atomics.load(words, index);
  if (parked !== 0 && parked !== 1) Atomics.compareExchange(words, index, parked, 1);
}

/** Channels reported corrupt, by worker: reformatted before the worker's replacement starts. */
export class CorruptChannels {
  readonly #slots = new Map<number, Set<number>>();

  /** The channel (worker, slot) failed validation. */
  report(globalIndex: number, slot: number): void {
    let slots = this.#slots.get(globalIndex);
    if (slots === undefined) {
      slots = new Set();
      this.#slots.set(globalIndex, slots);
    }
    slots.add(slot);
  }

  has(globalIndex: number): boolean {
    return this.#slots.has(globalIndex);
  }

  /** Takes the worker's reported slots, with `found` (what recovery found) added. */
  take(globalIndex: number, found: readonly number[]): Set<number> {
    const slots = this.#slots.get(globalIndex) ?? new Set<number>();
    this.#slots.delete(globalIndex);
    for (const slot of found) slots.add(slot);
    return slots;
  }
}

// Reformats a dead worker's channels with the callers' cooperation: each
// stops using its channel (its calls there fail ERR_PHOENIX_BAD_RING) and
// acks; then the pair is formatted and the caller told to take it up again.
export async function resetChannels(
  layout: PhoenixShmLayout,
  channel: WorkerChannel,
  slots: Iterable<number>,
  engine: CallerEngine | null,
  clients: ClientAdmission,
): Promise<void> {
  const message = `its channel with worker ${channel.group}[${channel.index}] failed validation`;
  for (const slotIndex of slots) {
    if (slotIndex === SUPERVISOR_SLOT) {
      engine?.resetChannel(channel.globalIndex, message);
      layout.formatRingPair(channel, slotIndex);
      engine?.channelReady(channel.globalIndex);
      continue;
    }
    await clients.resetChannel(slotIndex, channel, message, CHANNEL_RESET_ACK_MS, () =>
      layout.formatRingPair(channel, slotIndex),
    );
  }
}
