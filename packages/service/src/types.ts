import type { Priority, QueueFullPolicy } from '@phoenix-ipc/client';
import type { StandardSchemaV1 } from '@standard-schema/spec';

/**
 * What a service interface may declare: methods that take at most one input
 * value. A method with two required parameters does not fit (a compile
 * error at defineService).
 */
export type ServiceShape<I> = {
  // biome-ignore lint/suspicious/noExplicitAny: any input type is allowed; `unknown` would reject every typed parameter.
  [K in keyof I]: (input?: any) => unknown;
};

/** The input of method M: its one parameter's type (`| undefined` if optional), or undefined if it has none. */
export type InputOf<M> = M extends (...args: infer A) => unknown
  ? A extends []
    ? undefined
    : A extends [infer In, ...unknown[]]
      ? In
      : A extends [(infer In)?, ...unknown[]]
        ? In | undefined
        : undefined
  : never;

/** The result of method M, unwrapped from its promise. */
export type OutputOf<M> = M extends (...args: never[]) => infer Out ? Awaited<Out> : never;

/** True if method M's input is required. */
export type RequiresInput<M> = M extends (...args: infer A) => unknown
  ? A extends [unknown, ...unknown[]]
    ? true
    : false
  : false;

/** Per-call options of a bound method (those of IpcClient.callAsync); an unknown key is ERR_PHOENIX_INVALID_ARGUMENT. */
export interface ServiceCallOptions {
  /** Priority.Normal (default) or Priority.High (the VIP workers). */
  priority?: Priority;
  /** Fail with ERR_PHOENIX_TIMEOUT after this many ms (default: no timeout). */
  timeoutMs?: number;
  /** Aborting rejects the call with ERR_PHOENIX_ABORTED. */
  signal?: AbortSignal;
  /** What to do when the worker's queue is full (default: the caller's option). */
  onQueueFull?: QueueFullPolicy;
}

/** A method of a bound service: one input value (if the method has one), then the call options. */
export type BoundMethod<M> =
  RequiresInput<M> extends true
    ? (input: InputOf<M>, options?: ServiceCallOptions) => Promise<OutputOf<M>>
    : (input?: InputOf<M>, options?: ServiceCallOptions) => Promise<OutputOf<M>>;

/** What `service.bind(caller)` returns: the interface's methods, each returning a promise. */
export type BoundService<I> = { readonly [K in keyof I]: BoundMethod<I[K]> };

/** The handler of method M: takes its input, returns (or resolves to) its result. */
export type MethodHandler<M> = (input: InputOf<M>) => OutputOf<M> | Promise<OutputOf<M>>;

/** One handler per method of the interface. */
export type ServiceHandlers<I> = { [K in keyof I]: MethodHandler<I[K]> };

/**
 * A method's entry in defineService: its func id, or the id with Standard
 * Schemas (zod, valibot, arktype...) that check the input before the handler
 * runs and the output before it is sent.
 */
export interface MethodSpec<In = unknown, Out = unknown> {
  id: number;
  input?: StandardSchemaV1<unknown, In>;
  output?: StandardSchemaV1<unknown, Out>;
}

/** defineService's second argument: every method of the interface, mapped to its func id. */
export type MethodTable<I> = { [K in keyof I]: number | MethodSpec<InputOf<I[K]>, OutputOf<I[K]>> };
