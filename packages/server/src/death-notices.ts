/**
 * Early death notices for worker processes (native-shm's DeathWatch): each
 * process the supervisor starts holds one slot of a robust-mutex memfd, and
 * the supervisor hears of its death when its main thread starts exiting —
 * before the kernel has released its memory, which for a Node process takes
 * ~4 ms idle and 13-17 ms at the median on two loaded vCPUs. Recovery and the
 * handover to a spare start that much sooner. The exit itself (pidfd, reaped)
 * still follows and is what frees the slot.
 *
 * Cost: one memfd per supervisor and one thread per watched process, parked
 * in the kernel (no CPU; it looks up every 5 minutes whether the watch was
 * closed) until that process dies; it ends then.
 *
 * A slot goes back to the free list only when its process has been reaped and
 * its armed thread has reported: an event that arrives late is never taken
 * for the slot's next process.
 */
import { DeathWatch } from '@phoenix-ipc/native-shm';

/** What a watched process does with its notice. */
export interface DeathNoticeTarget {
  /** Its main thread began to exit: it will not run again. */
  onDying(): void;
}

interface SlotUse {
  target: DeathNoticeTarget;
  armed: boolean;
  reported: boolean;
  reaped: boolean;
}

/** More than workers and spares of any one supervisor ever hold at once. */
const SLOTS = 512;

export class DeathNotices {
  readonly #watch: DeathWatch;
  readonly #uses = new Map<number, SlotUse>();
  readonly #free: number[] = [];

  private constructor() {
    this.#watch = new DeathWatch(SLOTS, (slot, died) => this.#onEvent(slot, died));
    for (let slot = SLOTS - 1; slot >= 0; slot--) this.#free.push(slot);
  }

  /** Null where the platform has no robust process-shared mutexes: exits are then learned at reap only. */
  static create(): DeathNotices | null {
    try {
      return new DeathNotices();
    } catch {
      return null;
    }
  }

  /** The memfd each watched process gets among its fds. */
  get fd(): number {
    return this.#watch.fd;
  }

  /** A slot for a process about to start, or null when none is free (it is then not watched early). */
  allocate(target: DeathNoticeTarget): number | null {
    const slot = this.#free.pop();
    if (slot === undefined) return null;
    this.#uses.set(slot, { target, armed: false, reported: false, reaped: false });
    return slot;
  }

  /** The process said something on its channel: it holds its slot by then (worker-host.ts). */
  arm(slot: number): void {
    const use = this.#uses.get(slot);
    if (use === undefined || use.armed || use.reaped) return;
    use.armed = true;
    try {
      this.#watch.arm(slot);
    } catch {
      use.armed = false; // no thread to spare: this process's exit is learned at reap
    }
  }

  /** The process was reaped (or never started). */
  release(slot: number): void {
    const use = this.#uses.get(slot);
    if (use === undefined) return;
    use.reaped = true;
    this.#freeIfDone(slot, use);
  }

  close(): void {
    this.#watch.close();
  }

  #onEvent(slot: number, died: boolean): void {
    const use = this.#uses.get(slot);
    if (use === undefined || !use.armed) return;
    use.reported = true;
    if (died && !use.reaped) use.target.onDying();
    this.#freeIfDone(slot, use);
  }

  #freeIfDone(slot: number, use: SlotUse): void {
    if (!use.reaped || (use.armed && !use.reported)) return;
    this.#uses.delete(slot);
    this.#free.push(slot);
  }
}
