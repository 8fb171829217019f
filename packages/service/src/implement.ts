import { PhoenixError } from '@phoenix-ipc/client';
import type { Handler, ResponseHeader } from '@phoenix-ipc/server';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { HandlerHost } from './caller.js';
import { type Codec, codecName } from './codec.js';
import { isService, type MethodDefinition, type Service } from './define-service.js';
import { registerAll } from './register.js';
import { failureOf } from './remote-error.js';
import type { ServiceHandlers } from './types.js';
import { describeIssues, issuesOf, type Schema } from './validation.js';
import { decodeValue, reasonOf } from './values.js';

type AnyHandler = (input: unknown) => unknown;

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

type Fail = (issues: ReadonlyArray<StandardSchemaV1.Issue>) => never;
/** What runs on a value once it is valid: the request's response header and reply room passed along. */
type Next = (value: unknown, response: ResponseHeader, responsePayload: Uint8Array) => unknown;

// The per-request functions below make no closure: a function that does keeps
// the variables its closures capture in a context object, which V8 allocates on
// every call unless its optimised code of the moment proves it needless (the
// worker's request path did, in most runs: docs/benchmarks-history.md, thirty-first
// session). What must wait for a promise goes through the *Later helpers.

/** Runs `schema` on `value`; `next` gets the validated value (synchronously when the schema is). */
function validate(
  schema: Schema,
  value: unknown,
  fail: Fail,
  next: Next,
  response: ResponseHeader,
  responsePayload: Uint8Array,
): unknown {
  const result = schema['~standard'].validate(value);
  if (isThenable(result)) return validateLater(result, fail, next, response, responsePayload);
  return result.issues !== undefined ? fail(result.issues) : next(result.value, response, responsePayload);
}

function validateLater(
  result: PromiseLike<StandardSchemaV1.Result<unknown>>,
  fail: Fail,
  next: Next,
  response: ResponseHeader,
  responsePayload: Uint8Array,
): Promise<unknown> {
  return Promise.resolve(result).then((outcome) =>
    outcome.issues !== undefined ? fail(outcome.issues) : next(outcome.value, response, responsePayload),
  );
}

/** An async handler's result, once it settles, goes to `next` (its failure to `failed`). */
function continueLater(
  output: PromiseLike<unknown>,
  next: Next,
  failed: (error: unknown) => never,
  response: ResponseHeader,
  responsePayload: Uint8Array,
): Promise<unknown> {
  return Promise.resolve(output).then((value) => next(value, response, responsePayload), failed);
}

/**
 * The raw handler of one method: decode the input (zero copy: binary values
 * are views of the request in shared memory), check it, run the handler,
 * check its result, encode the reply. A method without schemas and a
 * synchronous handler takes no closure and no promise per call.
 */
function methodHandler(method: MethodDefinition, codec: Codec, handler: AnyHandler): Handler {
  const { label, input: inputSchema, output: outputSchema } = method;
  const badInput = (issues: ReadonlyArray<StandardSchemaV1.Issue>): never => {
    const list = issuesOf(issues);
    throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `${label}: invalid input: ${describeIssues(list)}`, {
      issues: list,
    });
  };
  const badOutput = (issues: ReadonlyArray<StandardSchemaV1.Issue>): never => {
    const list = issuesOf(issues);
    throw new PhoenixError(
      'ERR_PHOENIX_HANDLER_FAILED',
      `${label}: the handler returned an invalid result: ${describeIssues(list)}`,
      { issues: list },
    );
  };
  const handlerFailed = (error: unknown): never => {
    throw failureOf(error, codec);
  };

  const write = (output: unknown, response: ResponseHeader, responsePayload: Uint8Array): undefined => {
    if (output === undefined) {
      response.payloadLen = 0;
      return undefined;
    }
    let bytes: Uint8Array;
    try {
      const written = codec.encodeInto === undefined ? -1 : codec.encodeInto(output, responsePayload);
      if (written >= 0) {
        response.payloadLen = written;
        return undefined;
      }
      bytes = codec.encode(output);
    } catch (error) {
      if (PhoenixError.isInstance(error) && error.code === 'ERR_PHOENIX_PAYLOAD_TOO_LARGE') {
        throw new PhoenixError(error.code, `${label}: the handler's result is too large: ${error.message}`);
      }
      throw new PhoenixError(
        'ERR_PHOENIX_HANDLER_FAILED',
        `${label}: the handler's result cannot be encoded with the ${codecName(codec)} codec (${reasonOf(error)})`,
      );
    }
    if (bytes.length > responsePayload.length) {
      throw new PhoenixError(
        'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
        `${label}: the reply of ${bytes.length} bytes exceeds maxPayloadBytes ${responsePayload.length}`,
      );
    }
    responsePayload.set(bytes);
    response.payloadLen = bytes.length;
    codec.release?.(bytes);
    return undefined;
  };

  const finish = (output: unknown, response: ResponseHeader, responsePayload: Uint8Array): unknown =>
    outputSchema === undefined
      ? write(output, response, responsePayload)
      : validate(outputSchema, output, badOutput, write, response, responsePayload);

  const run = (input: unknown, response: ResponseHeader, responsePayload: Uint8Array): unknown => {
    let output: unknown;
    try {
      output = handler(input);
    } catch (error) {
      return handlerFailed(error);
    }
    if (isThenable(output)) return continueLater(output, finish, handlerFailed, response, responsePayload);
    return finish(output, response, responsePayload);
  };

  return (_header, payload, response, responsePayload) => {
    let input: unknown;
    try {
      input = decodeValue(codec, payload);
    } catch (error) {
      throw invalid(`${label}: the request does not decode with the ${codecName(codec)} codec (${reasonOf(error)})`);
    }
    const result =
      inputSchema === undefined
        ? run(input, response, responsePayload)
        : validate(inputSchema, input, badInput, run, response, responsePayload);
    return result as Uint8Array | undefined | Promise<Uint8Array | undefined>;
  };
}

/** A few words on what was passed instead of a service. */
function described(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return 'an object that is not one';
}

/**
 * Registers one handler per method of `service` on `server` (IpcServer; call
 * it in every process of the cluster, like registerHandler). Each handler
 * takes the method's input and returns (or resolves to) its result.
 *
 * Binary values in the input (Uint8Array, Buffer) are views into shared
 * memory, not copies: valid while the handler runs (until its promise
 * settles), like the payload of a raw handler. Copy what you keep longer.
 *
 * Handlers are called with `handlers` as `this`. Throws
 * ERR_PHOENIX_INVALID_ARGUMENT if `service` is not a service from
 * defineService, `server` has no registerHandler, a method has no handler, a
 * function in `handlers` names no method of the service, or one of the
 * service's func ids already has a handler on `server`. Registers all of the
 * service's methods or none (see registerAll).
 */
export function implement<I>(server: HandlerHost, service: Service<I>, handlers: ServiceHandlers<I>): void {
  // Checked first: the other messages name the service.
  if (!isService(service)) {
    throw invalid(
      `implement(server, service, handlers): the second argument must be a service from defineService, got ${described(service)}`,
    );
  }
  if (typeof server !== 'object' || server === null || typeof server.registerHandler !== 'function') {
    throw invalid(`implement(${service.name}): server must be an IpcServer (it has registerHandler)`);
  }
  if (typeof handlers !== 'object' || handlers === null) {
    throw invalid(`implement(${service.name}): handlers must be an object with one function per method`);
  }
  const table = handlers as Record<string, unknown>;
  // A function for no method is most likely a misspelt handler; other fields (state for `this`) are the caller's.
  for (const key of Object.keys(table)) {
    if (typeof table[key] === 'function' && service.method(key) === undefined) {
      throw invalid(`implement(${service.name}): the service has no method "${key}"`);
    }
  }
  const registrations = service.methods.map((method) => {
    const handler = table[method.name];
    if (typeof handler !== 'function')
      throw invalid(`implement(${service.name}): no handler for method "${method.name}"`);
    return { method, handler: methodHandler(method, service.codec, (handler as AnyHandler).bind(handlers)) };
  });
  registerAll(server, service.name, registrations);
}
