/**
 * The callers waiting for replies on an ordered transport (one echo server
 * answering in order): a FIFO of (id, resolve, reject). The reply's id must
 * match the oldest waiter; anything else fails every waiter.
 */
export class PendingReplies<T> {
  #ids: number[] = [];
  #resolves: ((value: T) => void)[] = [];
  #rejects: ((error: Error) => void)[] = [];
  #head = 0;
  #nextId = 0;

  /** A new call: its id and the promise of its reply. */
  add(): { id: number; promise: Promise<T> } {
    const id = ++this.#nextId >>> 0;
    const promise = new Promise<T>((resolve, reject) => {
      this.#ids.push(id);
      this.#resolves.push(resolve);
      this.#rejects.push(reject);
    });
    return { id, promise };
  }

  get size(): number {
    return this.#ids.length - this.#head;
  }

  /** Settles the oldest call with `value`, checking that `id` is its id. */
  settle(id: number, value: T): void {
    const head = this.#head;
    if (head >= this.#ids.length) {
      this.failAll(new Error(`a reply (id ${id}) came with no call waiting`));
      return;
    }
    if (this.#ids[head] !== id) {
      this.failAll(new Error(`reply id ${id} does not match the oldest call (id ${this.#ids[head]})`));
      return;
    }
    const resolve = this.#resolves[head]!;
    this.#head = head + 1;
    // Compact now and then so the arrays stay small.
    if (this.#head >= 1024 && this.#head * 2 >= this.#ids.length) {
      this.#ids = this.#ids.slice(this.#head);
      this.#resolves = this.#resolves.slice(this.#head);
      this.#rejects = this.#rejects.slice(this.#head);
      this.#head = 0;
    }
    resolve(value);
  }

  failAll(error: Error): void {
    const rejects = this.#rejects.slice(this.#head);
    this.#ids = [];
    this.#resolves = [];
    this.#rejects = [];
    this.#head = 0;
    for (const reject of rejects) reject(error);
  }
}
