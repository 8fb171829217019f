import { PhoenixError } from '@phoenix-ipc/client';
import { callDecoded, Caller as EngineCaller } from '@phoenix-ipc/client/internal';
import type { Caller } from './caller.js';
import { codecName } from './codec.js';
import type { MethodDefinition, Service } from './define-service.js';
import { restoreRemote } from './remote-error.js';
import type { BoundService, ServiceCallOptions } from './types.js';
import { decodeValue, encodeValue, encodeValueParts, reasonOf } from './values.js';

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

// What libraries and runtimes probe on any object (await, JSON, test
// matchers, React...), answered with undefined instead of a TypeError. So are
// names that are no method name or are a probe's by convention (symbols,
// `@@iterator`, `$$typeof`, `_isMockFunction`, `__esModule`...). Any other
// identifier, in any script or starting with one `$`, may be a typo of a method
// name (`getUsr`, `grösse`, `$rum`).
const PROBES = new Set(['then', 'catch', 'toJSON', 'asymmetricMatch', 'nodeType', 'tagName', 'inspect']);
const METHOD_NAME = /^(?:\p{ID_Start}|\$(?!\$))[\p{ID_Continue}$\u200C\u200D]*$/u;

// Payloads at least this large are handed back to the codec once their call
// has settled, so that their memory is reused (no fresh memory per large
// call). Smaller ones are not worth two closures per call: their memory goes
// to the garbage collector.
const RELEASE_BYTES = 1024;

type BoundFunction = (input?: unknown, options?: ServiceCallOptions, extra?: unknown) => Promise<unknown>;

/** The function that calls one method through `caller`. */
function boundMethod(service: Service<unknown>, method: MethodDefinition, caller: Caller): BoundFunction {
  const { codec } = service;
  const { id, label } = method;
  // IpcClient and IpcServer copy a request before callAsync returns, and send
  // a payload in parts back to back: the codec may reuse one buffer for every
  // request (nothing to release), and large binary values go from the
  // caller's memory straight into the request ring.
  const gather = caller instanceof EngineCaller && codec.encodeParts !== undefined;
  const release = gather ? undefined : codec.release?.bind(codec);
  const send = caller as {
    callAsync(
      id: number,
      payload: Uint8Array | Uint8Array[],
      options?: ServiceCallOptions,
    ): Promise<{ payload: Uint8Array }>;
  };
  const undecodable = (error: unknown): PhoenixError =>
    new PhoenixError(
      'ERR_PHOENIX_HANDLER_FAILED',
      `${label}: the reply does not decode with the ${codecName(codec)} codec (${reasonOf(error)})`,
      { cause: error, funcId: id },
    );
  const onReply = (reply: { payload: Uint8Array }): unknown => {
    try {
      return decodeValue(codec, reply.payload);
    } catch (error) {
      throw undecodable(error);
    }
  };
  // IpcClient and IpcServer make the value straight from the reply in shared memory (no copy of it first).
  const decodeFrom = codec.decodeFrom?.bind(codec);
  const direct = gather && decodeFrom !== undefined;
  const decodeReply = (memory: Uint8Array, start: number, end: number): unknown => {
    try {
      return end === start ? undefined : decodeFrom!(memory, start, end);
    } catch (error) {
      throw undecodable(error);
    }
  };
  // What a failed call rejects with: the method named in a size error, a handler's error restored.
  const failure = (error: unknown): unknown => {
    if (!PhoenixError.isInstance(error)) return error;
    if (error.code === 'ERR_PHOENIX_PAYLOAD_TOO_LARGE' && !error.message.includes(label)) {
      const {
        name: _name,
        message: _message,
        stack: _stack,
        code,
        ...facts
      } = error as PhoenixError & Record<string, unknown>;
      return new PhoenixError(code, `${label}: ${error.message}`, { ...facts, cause: error });
    }
    restoreRemote(error, codec);
    return error;
  };
  const onFailure = (error: unknown): never => {
    throw failure(error);
  };
  return (input?: unknown, options?: ServiceCallOptions, extra?: unknown): Promise<unknown> => {
    if (extra !== undefined) {
      return Promise.reject(invalid(`${label} takes at most one input value and the call options, got more`));
    }
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      return Promise.reject(invalid(`${label}: the call options must be an object { priority, timeoutMs, signal }`));
    }
    let payload: Uint8Array | Uint8Array[];
    try {
      payload = gather ? encodeValueParts(codec, input) : encodeValue(codec, input);
    } catch (error) {
      // Too large to send is the size error every transport gives, not a value the codec cannot take.
      if (PhoenixError.isInstance(error) && error.code === 'ERR_PHOENIX_PAYLOAD_TOO_LARGE') {
        return Promise.reject(failure(error));
      }
      return Promise.reject(
        new PhoenixError(
          'ERR_PHOENIX_INVALID_ARGUMENT',
          `${label}: the input cannot be encoded with the ${codecName(codec)} codec (${reasonOf(error)})`,
          { cause: error, funcId: id },
        ),
      );
    }
    if (direct) return callDecoded(caller as EngineCaller, id, payload, options, decodeReply, failure);
    let pending: Promise<{ payload: Uint8Array }>;
    try {
      pending = send.callAsync(id, payload, options);
    } catch (error) {
      pending = Promise.reject(error); // a caller that throws instead of rejecting
    }
    if (release === undefined || payload.length < RELEASE_BYTES) return pending.then(onReply, onFailure);
    return releaseWhenSettled(pending, payload as Uint8Array, release, onReply, onFailure);
  };
}

/**
 * Once the call has settled the caller no longer needs the payload, and the
 * codec may reuse its memory. Its own function: a closure made in the
 * per-call function would have V8 allocate a context on every call.
 */
function releaseWhenSettled(
  pending: Promise<{ payload: Uint8Array }>,
  lease: Uint8Array,
  release: (bytes: Uint8Array) => void,
  onReply: (reply: { payload: Uint8Array }) => unknown,
  onFailure: (error: unknown) => never,
): Promise<unknown> {
  return pending.then(
    (reply) => {
      release(lease);
      return onReply(reply);
    },
    (error: unknown) => {
      release(lease);
      return onFailure(error);
    },
  );
}

/**
 * The object behind `service.bind(caller)`: the methods are its own
 * properties (made once here; a call allocates nothing beyond its promises),
 * and its prototype is a Proxy that answers every other name: an unknown
 * method name throws a TypeError that names the service.
 */
export function bindService<I>(service: Service<I>, caller: Caller): BoundService<I> {
  if (typeof caller !== 'object' || caller === null || typeof caller.callAsync !== 'function') {
    throw invalid(
      `${service.name}.bind(caller): caller must have callAsync(funcId, payload, options) (IpcClient, IpcServer, NatsCaller)`,
    );
  }
  const names = service.methods.map((method) => method.name).join(', ');
  const unknownMethod = new Proxy(Object.create(Object.prototype) as object, {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || key in target || PROBES.has(key) || !METHOD_NAME.test(key)) {
        return Reflect.get(target, key, receiver);
      }
      throw new TypeError(`service "${service.name}" has no method "${key}" (its methods: ${names})`);
    },
  });
  const api = Object.create(unknownMethod) as Record<string, BoundFunction>;
  for (const method of service.methods) {
    // Defined, not assigned: an assignment runs setters on the way (`__proto__` would replace the prototype
    // that answers unknown names). defineService refuses such names; this holds for any service object.
    Object.defineProperty(api, method.name, {
      value: boundMethod(service as Service<unknown>, method, caller),
      enumerable: true,
    });
  }
  return Object.freeze(api) as unknown as BoundService<I>;
}
