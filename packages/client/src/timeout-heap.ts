/** Something with a deadline that the heap can place and remove in O(log n). */
export interface HeapEntry {
  deadline: number;
  heapIndex: number;
}

/** A binary min-heap of entries by deadline, with removal by stored index. */
export class TimeoutHeap<T extends HeapEntry> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(entry: T): void {
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(entry: T): void {
    const index = entry.heapIndex;
    const items = this.#items;
    if (index < 0 || items[index] !== entry) return;
    const last = items.pop()!;
    entry.heapIndex = -1;
    if (last !== entry) {
      items[index] = last;
      last.heapIndex = index;
      this.#down(index);
      this.#up(last.heapIndex);
    }
  }

  #up(index: number): void {
    const items = this.#items;
    const entry = items[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex]!;
      if (parent.deadline <= entry.deadline) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = entry;
    entry.heapIndex = index;
  }

  #down(index: number): void {
    const items = this.#items;
    const length = items.length;
    const entry = items[index]!;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && items[child + 1]!.deadline < items[child]!.deadline) child++;
      const smaller = items[child]!;
      if (smaller.deadline >= entry.deadline) break;
      items[index] = smaller;
      smaller.heapIndex = index;
      index = child;
    }
    items[index] = entry;
    entry.heapIndex = index;
  }
}
