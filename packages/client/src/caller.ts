import { EventEmitter } from 'node:events';
import { PhoenixError, type Priority } from '@phoenix-ipc/shm-layout';
import {
  type CallOptions,
  checkFuncId,
  DefaultCallOptions,
  type Payload,
  type QueueFullPolicy,
  type RequestBytes,
  type ResolvedCall,
  resolveCallOptions,
  type SyncCallOptions,
  toPayload,
} from './call-options.js';
import type { CallerEngine } from './caller-engine.js';
import { type ErrorMapper, type Reply, type ReplyDecoder, rejectionOf } from './reply.js';
import type { ReplyHandler } from './reply-deliveries.js';

/**
 * callAsync, but the promise resolves with `decode`'s value, made straight
 * from the reply in shared memory (no Reply, no copy of its payload), and
 * rejects with `mapError`'s value. For @phoenix-ipc/service (from
 * `@phoenix-ipc/client/internal`); set by Caller's static block, which can
 * reach its private members.
 */
export let callDecoded: (
  caller: Caller,
  funcId: number,
  payload: Payload | undefined,
  options: CallOptions | undefined,
  decode: ReplyDecoder,
  mapError: ErrorMapper,
) => Promise<unknown>;

/**
 * The call API shared by IpcClient and IpcServer (the supervisor's own
 * calls): argument checks and option resolution, in front of a CallerEngine.
 */
export abstract class Caller extends EventEmitter {
  readonly #callDefaults: DefaultCallOptions;
  readonly #asyncDefaults: DefaultCallOptions;

  static {
    callDecoded = (caller, funcId, payload, options, decode, mapError) =>
      caller.#callWith(funcId, payload, options, undefined, caller.#asyncDefaults, null, decode, mapError);
  }

  protected constructor(defaultTimeoutMs: number, onQueueFull: QueueFullPolicy) {
    super();
    this.#callDefaults = new DefaultCallOptions(defaultTimeoutMs, onQueueFull);
    this.#asyncDefaults = new DefaultCallOptions(0, onQueueFull);
  }

  /** The engine a call goes through; throws the PhoenixError that says why there is none. */
  protected abstract engineForCall(): CallerEngine;

  /**
   * Calls `funcId` with `payload` on the least-loaded worker of the
   * priority's group (Normal by default). Times out after `timeoutMs`
   * (default: the defaultTimeoutMs option). Resolves to the Reply; rejects
   * with a PhoenixError. The payload is copied before the call returns (into
   * the request ring, or into memory of the call's own while it waits for
   * room): its memory may be reused at once.
   */
  call(
    funcId: number,
    payload?: Payload,
    priorityOrOptions?: Priority | CallOptions,
    timeoutMs?: number,
  ): Promise<Reply> {
    return this.#callWith(funcId, payload, priorityOrOptions, timeoutMs, this.#callDefaults, null);
  }

  /**
   * Like call(), but copies the reply payload into `target` (the Reply's
   * payload is then a view of it) instead of allocating a new buffer: for hot
   * loops with large replies. Nothing is allocated per call but the promise:
   * the Reply is the target's own object, rewritten by the next callInto
   * into the same buffer (see Reply). A reply longer than `target` fails
   * with ERR_PHOENIX_PAYLOAD_TOO_LARGE.
   */
  callInto(
    funcId: number,
    payload: Payload | undefined,
    target: Uint8Array,
    priorityOrOptions?: Priority | CallOptions,
    timeoutMs?: number,
  ): Promise<Reply> {
    if (!(target instanceof Uint8Array)) {
      return Promise.reject(new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', 'target must be a Uint8Array'));
    }
    return this.#callWith(funcId, payload, priorityOrOptions, timeoutMs, this.#callDefaults, target);
  }

  /**
   * callInto without a promise, for loops that must allocate nothing per
   * call: the outcome goes to `handler` instead — onReply with the target's
   * Reply, or onError with the PhoenixError callInto would reject with
   * (every failure, bad arguments included). Exactly one of them is called,
   * once, and never before sendInto returns: replies are handed over after
   * the caller has read all that arrived together, so a handler may call
   * sendInto again at once (its calls go out together, one tail store and
   * one doorbell). A handler that throws does not disturb the others; its
   * error becomes an uncaught exception on the next tick. Only a handler
   * without onReply and onError methods is refused by a throw
   * (ERR_PHOENIX_INVALID_ARGUMENT): there is nowhere else to say so.
   */
  sendInto(
    funcId: number,
    payload: Payload | undefined,
    target: Uint8Array,
    handler: ReplyHandler,
    priorityOrOptions?: Priority | CallOptions,
    timeoutMs?: number,
  ): void {
    if (
      handler === null ||
      typeof handler !== 'object' ||
      typeof handler.onReply !== 'function' ||
      typeof handler.onError !== 'function'
    ) {
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        'handler must be an object with onReply and onError methods',
      );
    }
    let engine: CallerEngine;
    let id: number;
    let options: ResolvedCall;
    let bytes: RequestBytes;
    try {
      if (!(target instanceof Uint8Array)) {
        throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', 'target must be a Uint8Array');
      }
      id = checkFuncId(funcId);
      options =
        (timeoutMs === undefined ? this.#callDefaults.forPriority(priorityOrOptions) : null) ??
        resolveCallOptions(priorityOrOptions, timeoutMs, this.#callDefaults.base);
      bytes = toPayload(payload);
      engine = this.engineForCall();
    } catch (error) {
      failLater(handler, error as PhoenixError);
      return;
    }
    engine.send(id, bytes, options, target, handler);
  }

  /** Like call() without a timeout, unless its options give one. */
  callAsync(funcId: number, payload?: Payload, priorityOrOptions?: Priority | CallOptions): Promise<Reply> {
    return this.#callWith(funcId, payload, priorityOrOptions, undefined, this.#asyncDefaults, null);
  }

  #callWith(
    funcId: number,
    payload: Payload | undefined,
    priorityOrOptions: Priority | CallOptions | undefined,
    timeoutMs: number | undefined,
    defaults: DefaultCallOptions,
    target: Uint8Array | null,
    decode: ReplyDecoder | null = null,
    mapError: ErrorMapper | null = null,
  ): Promise<Reply> {
    try {
      const id = checkFuncId(funcId);
      const options =
        (timeoutMs === undefined ? defaults.forPriority(priorityOrOptions) : null) ??
        resolveCallOptions(priorityOrOptions, timeoutMs, defaults.base);
      const bytes = toPayload(payload);
      return this.engineForCall().call(id, bytes, options, target, decode, mapError);
    } catch (error) {
      return Promise.reject(rejectionOf(mapError, error as PhoenixError));
    }
  }

  /**
   * The design's blocking Call (docs/design-mapping.md): blocks the calling thread until the reply (a
   * brief spin, then a blocking wait in native code; never a long busy loop)
   * and returns it, or throws the same PhoenixErrors as call(). Takes
   * `{ priority, timeoutMs }` only: no signal can fire while the thread is blocked.
   */
  callSync(funcId: number, payload?: Payload, options: SyncCallOptions = {}): Reply {
    const id = checkFuncId(funcId);
    if (typeof options !== 'object' || options === null) {
      throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', 'options must be an object');
    }
    if ((options as CallOptions).signal !== undefined) {
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        'callSync takes no signal: nothing can fire while the thread is blocked',
      );
    }
    const resolved = resolveCallOptions(options, undefined, this.#callDefaults.base);
    return this.engineForCall().callSync(id, toPayload(payload), resolved);
  }
}

/**
 * sendInto's failure before any engine has the call: a microtask hands it
 * over. A function of its own, not a closure in sendInto: V8 would allocate
 * the closure's context on every call, even when it is never made.
 */
function failLater(handler: ReplyHandler, error: PhoenixError): void {
  queueMicrotask(() => handler.onError(error));
}
