import type { PhoenixError } from '@phoenix-ipc/shm-layout';
import type { Reply } from './reply.js';
import { rethrowLater } from './rethrow-later.js';

/**
 * Where sendInto's outcome goes: exactly one of the two is called, once per
 * call, never before sendInto returns.
 */
export interface ReplyHandler {
  /** The reply, copied into the call's target: `reply` is the target's own Reply (see callInto). */
  onReply(reply: Reply): void;
  /** The call failed: the same PhoenixErrors callInto rejects with. */
  onError(error: PhoenixError): void;
}

/**
 * Outcomes of handler calls (sendInto) waiting to be handed over. The reply
 * reader settles calls while it walks a response ring; a handler run right
 * there could call again, or block in callSync, in the middle of that walk.
 * So outcomes queue here and go out once the reader is done (the engine's
 * pump, or a microtask for outcomes settled elsewhere: timeouts, failures).
 *
 * Three parallel arrays that only grow, rather than an object per outcome:
 * a caller in steady state allocates nothing here.
 */
export class ReplyDeliveries {
  readonly #handlers: (ReplyHandler | null)[] = [];
  readonly #replies: (Reply | null)[] = [];
  readonly #errors: (PhoenixError | null)[] = [];
  #count = 0;
  #running = false;

  /** Outcomes waiting. */
  get count(): number {
    return this.#count;
  }

  add(handler: ReplyHandler, reply: Reply | null, error: PhoenixError | null): void {
    const at = this.#count++;
    this.#handlers[at] = handler;
    this.#replies[at] = reply;
    this.#errors[at] = error;
  }

  /**
   * Hands every waiting outcome over, in the order the calls settled,
   * including those its handlers cause meanwhile. A handler that throws does
   * not stop the others: its error is thrown again on the next tick, where
   * it is an uncaught exception (as a throw in any callback is).
   */
  run(): void {
    if (this.#running) return; // a handler's own call got here: the loop below takes what it added
    this.#running = true;
    const handlers = this.#handlers;
    const replies = this.#replies;
    const errors = this.#errors;
    for (let i = 0; i < this.#count; i++) {
      const handler = handlers[i]!;
      const reply = replies[i]!;
      const error = errors[i]!;
      handlers[i] = null;
      replies[i] = null;
      errors[i] = null;
      try {
        if (error === null) handler.onReply(reply);
        else handler.onError(error);
      } catch (thrown) {
        rethrowLater(thrown);
      }
    }
    this.#count = 0;
    this.#running = false;
  }
}
