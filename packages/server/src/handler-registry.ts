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

/**
 * A request as offsets into shared memory, for a handler that allocates
 * nothing per request (registerRawHandler): no view is made for it.
 *
 * The object belongs to the handler slot (lane) running the request and is
 * rewritten for the next request that slot runs: read it during the call,
 * or until an async handler's promise settles. The memory it points into is
 * reused after that too: copy whatever you keep.
 */
export interface RawRequest {
  readonly seqId: number;
  readonly funcId: number;
  /** The request payload is `memory[start, end)` (the caller's request ring, so never write there). */
  readonly memory: Uint8Array;
  readonly start: number;
  readonly end: number;
  /**
   * Where the reply payload goes: `reply[replyStart, replyEnd)`, which holds
   * maxPayloadBytes. The handler returns how many bytes it wrote there.
   */
  readonly reply: Uint8Array;
  readonly replyStart: number;
  readonly replyEnd: number;
  /** The reply's func id; starts as the request's. */
  replyFuncId: number;
}

/**
 * A handler on offsets (registerRawHandler): returns, or resolves to, the
 * reply's length in bytes, written at `request.reply[request.replyStart...]`.
 * Anything but a whole number from 0 fails the call with
 * ERR_PHOENIX_HANDLER_FAILED, a length beyond the room with
 * ERR_PHOENIX_PAYLOAD_TOO_LARGE; throws and rejections fail it as a
 * Handler's do.
 */
export type RawHandler = (request: RawRequest) => number | Promise<number>;

/** A registered handler, with the way it takes its request. */
export type RegisteredHandler = { raw: false; run: Handler } | { raw: true; run: RawHandler };

export class HandlerRegistry {
  readonly #handlers = new Map<number, RegisteredHandler>();

  /** Adds the handler for `funcId`; a func id that already has one is refused (unregister it first). */
  register(funcId: number, handler: Handler): void {
    this.#add(funcId, { raw: false, run: handler });
  }

  /** Adds a raw handler for `funcId` (offsets, no views); the same rules as register(). */
  registerRaw(funcId: number, handler: RawHandler): void {
    this.#add(funcId, { raw: true, run: handler });
  }

  #add(funcId: number, entry: RegisteredHandler): void {
    const id = checkFuncId(funcId);
    const handler = entry.run;
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
    this.#handlers.set(id, entry);
  }

  /** Removes the handler for `funcId`; false if it had none. */
  unregister(funcId: number): boolean {
    return this.#handlers.delete(checkFuncId(funcId));
  }

  get(funcId: number): RegisteredHandler | undefined {
    return this.#handlers.get(funcId);
  }

  get size(): number {
    return this.#handlers.size;
  }

  ids(): number[] {
    return [...this.#handlers.keys()];
  }
}
