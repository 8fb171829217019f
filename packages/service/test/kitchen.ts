// The calling side's view of the services in fixtures/kitchen.mjs (same
// names and func ids; the schemas live on the implementing side).
import { defineService, jsonCodec, type PhoenixErrorCode } from '../src/index.js';

export interface BytesFacts {
  length: number;
  /** byteLength of the ArrayBuffer the handler's view belongs to. */
  bufferBytes: number;
  isBuffer: boolean;
  first: number;
}

export interface Kitchen {
  echo<T>(value: T): T;
  nothing(): void;
  describeBytes(data: Uint8Array): BytesFacts;
  bytesOfSize(size: number): Uint8Array;
  fail(fields: Record<string, unknown>): never;
  failWithCode(input: { code: PhoenixErrorCode; message: string }): never;
  slow(ms: number): Promise<number>;
  whereAmI(): { pid: number; group: 'normal' | 'vip' | 'supervisor' };
  area(input: { width: number; height: number }): { area: number };
  areaCalls(): number;
  brokenArea(): { area: number };
  echoLater<T>(value: T): Promise<T>;
}

export const kitchen = defineService<Kitchen>('kitchen', {
  echo: 1001,
  nothing: 1002,
  describeBytes: 1003,
  bytesOfSize: 1004,
  fail: 1005,
  failWithCode: 1006,
  slow: 1007,
  whereAmI: 1008,
  area: 1009,
  areaCalls: 1010,
  brokenArea: 1011,
  echoLater: 1012,
});

export interface Plain {
  echo(value: unknown): unknown;
}

export const plain = defineService<Plain>('plain', { echo: 1101 }, { codec: jsonCodec });

/** Func id 1201 is a raw handler in fixtures/kitchen.mjs that answers bytes no codec decodes. */
export const undecodable = defineService<{ answer(): unknown }>('undecodable', { answer: 1201 });
