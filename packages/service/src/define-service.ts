import { PhoenixError } from '@phoenix-ipc/client';
import { checkFuncId } from '@phoenix-ipc/client/internal';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { bindService } from './bind.js';
import type { Caller } from './caller.js';
import type { Codec } from './codec.js';
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

// A proxy with a `then` would be taken for a promise by `await`.
const RESERVED_NAMES = new Set(['then']);

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

function methodDefinition(service: string, name: string, entry: unknown): MethodDefinition {
  const label = `${service}.${name}`;
  if (RESERVED_NAMES.has(name)) throw invalid(`${label}: "${name}" cannot be a method name`);
  const spec = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : { id: entry };
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
 * Defines a service: every method of interface I mapped to its func id
 * (≥ 1001, unique within the service), with optional Standard Schemas.
 * Shared by the implementing side (implement) and the calling side (bind).
 * Throws ERR_PHOENIX_INVALID_ARGUMENT for a bad name, id, schema or codec.
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
