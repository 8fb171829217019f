import { PhoenixError } from '@phoenix-ipc/client';
import { checkFuncId } from '@phoenix-ipc/client/internal';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { bindService } from './bind.js';
import type { Caller } from './caller.js';
import type { Codec } from './codec.js';
import { methodNameProblem } from './method-name.js';
import { msgpackCodec } from './msgpack-codec.js';
import type { BoundService, MethodTable, ServiceShape } from './types.js';
import { isStandardSchema, type Schema } from './validation.js';

/** Options of defineService. */
export interface ServiceOptions {
  /** How values are encoded (default: msgpackCodec). Both ends must use the same. */
  codec?: Codec;
}

/** One method of a service, as defined. */
export interface MethodDefinition {
  readonly name: string;
  readonly id: number;
  readonly input: StandardSchemaV1 | undefined;
  readonly output: StandardSchemaV1 | undefined;
  /** "service.method", for messages. */
  readonly label: string;
}

/** A service: its name, codec and methods, shared by the implementing and the calling side. */
export interface Service<I> {
  readonly name: string;
  readonly codec: Codec;
  /** The methods in definition order. */
  readonly methods: readonly MethodDefinition[];
  /** The method called `name`, or undefined. */
  method(name: string): MethodDefinition | undefined;
  /**
   * A proxy whose methods call the service through `caller` (IpcClient,
   * IpcServer, NatsCaller...). Each takes at most one input value and an
   * optional last argument with the call options.
   */
  bind(caller: Caller): BoundService<I>;
}

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

function checkCodec(codec: unknown, service: string): Codec {
  const candidate = codec as Partial<Codec> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.encode !== 'function' ||
    typeof candidate.decode !== 'function'
  ) {
    throw invalid(`service "${service}": option codec must have encode(value) and decode(bytes) methods`);
  }
  if (candidate.name !== undefined && typeof candidate.name !== 'string') {
    throw invalid(`service "${service}": the codec's name must be a string, got ${typeof candidate.name}`);
  }
  return candidate as Codec;
}

const METHOD_ENTRY_KEYS = new Set(['id', 'input', 'output']);

function methodDefinition(service: string, name: string, entry: unknown): MethodDefinition {
  const label = `${service}.${name}`;
  const problem = methodNameProblem(name);
  if (problem !== null) throw invalid(`service "${service}": "${name}" cannot be a method name: ${problem}`);
  const spec = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : { id: entry };
  // A misspelt key (`inptu`) would leave that side unvalidated without a word.
  for (const key of Object.keys(spec)) {
    if (!METHOD_ENTRY_KEYS.has(key))
      throw invalid(`${label}: unknown key ${key}; a method entry has id, input and output`);
  }
  let id: number;
  try {
    id = checkFuncId(spec.id);
  } catch (error) {
    throw invalid(`${label}: ${(error as Error).message}`);
  }
  for (const key of ['input', 'output'] as const) {
    if (spec[key] !== undefined && !isStandardSchema(spec[key])) {
      throw invalid(`${label}: ${key} must be a Standard Schema (zod, valibot, arktype...)`);
    }
  }
  return { name, id, input: spec.input as Schema | undefined, output: spec.output as Schema | undefined, label };
}

/**
 * True if `value` is a service as defineService makes it (judged by its shape,
 * so that a service from another copy of this package passes too). Reads own
 * properties only: a bound service, a likely mix-up, throws a TypeError for
 * any other name it is asked for.
 */
export function isService(value: unknown): value is Service<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const own = (key: string): unknown => Object.getOwnPropertyDescriptor(value, key)?.value;
  const methods = own('methods');
  const codec = own('codec') as Partial<Codec> | null | undefined;
  return (
    typeof own('name') === 'string' &&
    typeof own('method') === 'function' &&
    typeof codec === 'object' &&
    codec !== null &&
    typeof codec.encode === 'function' &&
    typeof codec.decode === 'function' &&
    Array.isArray(methods) &&
    methods.every(
      (method: Partial<MethodDefinition> | null) =>
        typeof method === 'object' &&
        method !== null &&
        typeof method.name === 'string' &&
        typeof method.id === 'number' &&
        typeof method.label === 'string',
    )
  );
}

/**
 * Defines a service: every method of interface I mapped to its func id
 * (≥ 1001, unique within the service), with optional Standard Schemas.
 * Shared by the implementing side (implement) and the calling side (bind).
 * Throws ERR_PHOENIX_INVALID_ARGUMENT for a bad name, id, schema or codec, and
 * for a method name that is not an identifier or that every object has
 * already (`__proto__`, `constructor`, `toString`...; see method-name.ts).
 *
 * ```ts
 * const imaging = defineService<Imaging>('imaging', { resize: 1001, stats: { id: 1002, output: statsSchema } });
 * ```
 */
export function defineService<I extends ServiceShape<I>>(
  name: string,
  methods: MethodTable<I>,
  options: ServiceOptions = {},
): Service<I> {
  if (typeof name !== 'string' || name.length === 0) throw invalid('a service needs a name (a non-empty string)');
  if (typeof methods !== 'object' || methods === null || Array.isArray(methods)) {
    throw invalid(`service "${name}": methods must be an object mapping each method name to its func id`);
  }
  if (typeof options !== 'object' || options === null) throw invalid(`service "${name}": options must be an object`);
  for (const key of Object.keys(options)) {
    // A misspelt option (`codecs`) would otherwise leave the default codec in place without a word.
    if (key !== 'codec') throw invalid(`service "${name}": unknown option ${key}; the only option is codec`);
  }
  const codec = options.codec === undefined ? msgpackCodec : checkCodec(options.codec, name);
  const definitions: MethodDefinition[] = [];
  const byId = new Map<number, string>();
  for (const [method, entry] of Object.entries(methods)) {
    const definition = methodDefinition(name, method, entry);
    const taken = byId.get(definition.id);
    if (taken !== undefined) {
      throw invalid(`service "${name}": methods ${taken} and ${method} both use func id ${definition.id}`);
    }
    byId.set(definition.id, method);
    definitions.push(Object.freeze(definition));
  }
  if (definitions.length === 0) throw invalid(`service "${name}" has no methods`);
  const byName = new Map(definitions.map((definition) => [definition.name, definition]));
  const service: Service<I> = {
    name,
    codec,
    methods: Object.freeze(definitions),
    method: (method) => byName.get(method),
    bind: (caller) => bindService(service, caller),
  };
  return Object.freeze(service);
}
