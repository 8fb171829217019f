/** Something with a deadline that a DeadlineQueues can hold. */
export interface DeadlineEntry {
  deadline: number;
  /** The timeout the deadline was computed from: entries are grouped by it. */
  timeoutMs: number;
  settled: boolean;
}

/**
 * Pending deadlines, grouped by timeout value. Calls with the same timeout
 * get their deadlines in the order they are made, so each group is a FIFO
 * already sorted by deadline: adding is O(1), and settled entries are pruned
 * from the head (calls mostly finish in order), so nothing piles up. With a
 * handful of distinct timeouts this beats a heap, which pays O(log n) twice
 * per call.
 */
export class DeadlineQueues<T extends DeadlineEntry> {
  readonly #queues = new Map<number, Fifo<T>>();
  readonly #onLeave: ((entry: T) => void) | undefined;

  /** `onLeave` is told about every entry as it leaves its queue (pruned or expired). */
  constructor(onLeave?: (entry: T) => void) {
    this.#onLeave = onLeave;
  }

  add(entry: T): void {
    let queue = this.#queues.get(entry.timeoutMs);
    if (queue === undefined) {
      queue = new Fifo<T>();
      this.#queues.set(entry.timeoutMs, queue);
    }
    queue.push(entry);
  }

  /** Drops settled entries at the heads; call after settling. */
  prune(timeoutMs: number): void {
    const queue = this.#queues.get(timeoutMs);
    if (queue === undefined) return;
    for (let head = queue.peek(); head?.settled; head = queue.peek()) {
      queue.shift();
      this.#onLeave?.(head);
    }
  }

  /** Removes and returns every unsettled entry whose deadline is <= now. */
  expired(now: number): T[] {
    const due: T[] = [];
    for (const queue of this.#queues.values()) {
      for (let head = queue.peek(); head !== undefined && (head.settled || head.deadline <= now); head = queue.peek()) {
        queue.shift();
        if (!head.settled) due.push(head);
        this.#onLeave?.(head);
      }
    }
    return due;
  }

  /** The earliest deadline of an unsettled entry at a queue head, or Infinity. */
  earliest(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const [timeoutMs, queue] of this.#queues) {
      this.prune(timeoutMs);
      const head = queue.peek();
      if (head !== undefined && head.deadline < earliest) earliest = head.deadline;
    }
    return earliest;
  }
}

/** A growable circular FIFO. */
export class Fifo<T> {
  #items: (T | undefined)[] = new Array(16);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = item;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  #grow(): void {
    const size = this.#items.length;
    const items = new Array<T | undefined>(size * 2);
    for (let i = 0; i < this.#length; i++) items[i] = this.#items[(this.#head + i) & (size - 1)];
    this.#items = items;
    this.#head = 0;
  }
}
