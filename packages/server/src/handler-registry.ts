import { checkFuncId } from '@phoenix-ipc/client/internal';
import { type MsgHeader, PhoenixError } from '@phoenix-ipc/shm-layout';

/** What a handler fills in for its reply. */
export interface ResponseHeader {
  seqId: number;
  /** Defaults to the request's func id. */
  funcId: number;
  /** Bytes of responsePayload that make up the reply. */
  payloadLen: number;
}

/**
 * A request handler. `payload` and `responsePayload` are views into shared
 * memory (zero copy), valid until the handler returns or its promise settles.
 * Write the reply into responsePayload and set response.payloadLen, or return
 * (or resolve to) a Uint8Array to be the reply payload.
 *
 * A throw or rejection answers the caller with a failure (never a successful
 * reply): a thrown PhoenixError keeps its code and facts, so a handler can
 * pass on the ERR_PHOENIX_TIMEOUT of a call it made; anything else becomes
 * ERR_PHOENIX_HANDLER_FAILED with its message, `remoteName`, `remoteStack`
 * and `remote` (name, message, code and own fields, made JSON-safe).
 */
export type Handler = (
  header: MsgHeader,
  payload: Uint8Array,
  response: ResponseHeader,
  responsePayload: Uint8Array,
) => HandlerResult | Promise<HandlerResult>;

/** A handler returns nothing (it wrote into responsePayload) or the reply payload. */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers written as `() => {}` return void; the union must accept them.
export type HandlerResult = void | Uint8Array | undefined;

export class HandlerRegistry {
  readonly #handlers = new Map<number, Handler>();

  /** Adds the handler for `funcId`; a func id that already has one is refused (unregister it first). */
  register(funcId: number, handler: Handler): void {
    const id = checkFuncId(funcId);
    if (typeof handler !== 'function') {
      throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `handler for func id ${id} must be a function`);
    }
    if (this.#handlers.has(id)) {
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        `func id ${id} already has a handler; call unregisterHandler(${id}) first to replace it on purpose`,
        { funcId: id },
      );
    }
    this.#handlers.set(id, handler);
  }

  /** Removes the handler for `funcId`; false if it had none. */
  unregister(funcId: number): boolean {
    return this.#handlers.delete(checkFuncId(funcId));
  }

  get(funcId: number): Handler | undefined {
    return this.#handlers.get(funcId);
  }

  get size(): number {
    return this.#handlers.size;
  }

  ids(): number[] {
    return [...this.#handlers.keys()];
  }
}
