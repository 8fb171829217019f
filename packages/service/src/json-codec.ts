import { Buffer } from 'node:buffer';
import type { Codec } from './codec.js';
import { refuseFunction, refuseNotData, refuseSymbol } from './value-refusals.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * UTF-8 JSON, for callers in other languages (over NATS). Plain JSON values
 * only: Dates arrive as ISO strings, Uint8Arrays (and Buffers) as base64
 * strings, Maps, Sets and `undefined` inside values are not kept, and a
 * BigInt cannot be encoded (ERR_PHOENIX_INVALID_ARGUMENT), nor can a function,
 * a Symbol, a Promise or a weak collection (refused as by the default codec).
 * Prefer the default msgpackr codec between Node processes.
 */
export class JsonCodec implements Codec {
  readonly name = 'json';

  encode(value: unknown): Uint8Array {
    const text = JSON.stringify(
      value,
      function replace(this: Record<string, unknown>, key: string, converted: unknown) {
        const original = this[key];
        // Before Buffer#toJSON's { type, data } form: bytes as base64, the usual JSON convention.
        if (original instanceof Uint8Array)
          return Buffer.from(original.buffer, original.byteOffset, original.length).toString('base64');
        // Refused, not dropped or written as null (value-refusals.ts).
        if (typeof converted === 'function') refuseFunction(converted);
        if (typeof converted === 'symbol') refuseSymbol();
        if (typeof converted === 'object' && converted !== null) refuseNotData(converted);
        return converted;
      },
    );
    // JSON has no undefined: the service layer sends it as an empty payload before a codec is asked.
    // Into Node's Buffer pool: TextEncoder.encode makes a fresh ArrayBuffer for every text (~1.4 µs for 200
    // characters, against ~0.16 µs).
    return Buffer.from(text ?? 'null', 'utf8');
  }

  decode(bytes: Uint8Array): unknown {
    return JSON.parse(decoder.decode(bytes));
  }
}

/** JSON (see JsonCodec): the codec for services called from other languages. */
export const jsonCodec: Codec = new JsonCodec();
