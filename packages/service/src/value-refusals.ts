// Values a codec would carry as something else, refused instead, so that no
// call loses data without a word. msgpackr writes a function as nil (a field
// with no value); a boxed primitive, a SharedArrayBuffer, a Promise and the
// weak collections as a plain object of their own fields (`new Number(5)` as
// {}, `new String('s')` as { 0: 's' }, a Promise as {}); it refuses a Symbol
// itself. JSON.stringify drops a function or a Symbol from an object, writes
// it as null in an array, and writes a Promise as {}: the JSON codec refuses
// those (the rest of what JSON changes is JSON's, documented). See the
// README, Values.
import { PhoenixError } from '@phoenix-ipc/client';
import { LAYOUT_LIMITS } from '@phoenix-ipc/shm-layout';

function refused(what: string, instead: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `${what} cannot be encoded: ${instead}`);
}

/** The Packr's writeFunction: called for every function msgpackr meets, at any depth. */
export function refuseFunction(value: unknown): never {
  const name = typeof value === 'function' && value.name !== '' ? ` (${value.name})` : '';
  throw refused(`a function${name}`, 'functions are code, not data');
}

/** A Symbol, for the JSON codec (msgpackr refuses one with an error of its own, which the service layer wraps). */
export function refuseSymbol(): never {
  throw refused('a Symbol', 'symbols are not data');
}

/**
 * Objects that are no data, for both codecs: a value not there yet (most
 * often a forgotten await), and entries nobody can read. Each would travel
 * as {}.
 */
export function refuseNotData(value: object): void {
  if (value instanceof Promise) throw refused('a Promise', 'its value is not there yet; await it first');
  if (value instanceof WeakMap) throw refused('a WeakMap', 'its entries cannot be read; send a Map');
  if (value instanceof WeakSet) throw refused('a WeakSet', 'its entries cannot be read; send a Set');
  if (value instanceof WeakRef) throw refused('a WeakRef', 'send what deref() returns');
}

/**
 * The Packr's checkObject (scripts/msgpackr-patches.ts): called for an object
 * no extension takes, just before msgpackr writes it as a plain map of its own
 * fields (instances of classes). Not for plain objects, arrays, Maps, Dates,
 * Sets..., so the checks cost nothing on their way.
 */
export function refuseObject(value: object): void {
  if (value instanceof Number) throw refused('a Number object (new Number())', 'pass the number itself');
  if (value instanceof String) throw refused('a String object (new String())', 'pass the string itself');
  if (value instanceof Boolean) throw refused('a Boolean object (new Boolean())', 'pass the boolean itself');
  if (value instanceof BigInt) throw refused('a BigInt object (Object(1n))', 'pass the bigint itself');
  if (value instanceof Symbol) throw refused('a Symbol object', 'symbols are not data');
  refuseNotData(value);
  if (value instanceof SharedArrayBuffer) {
    throw refused(
      'a SharedArrayBuffer',
      'its memory cannot be shared with another process; send a copy of its bytes (new Uint8Array(buffer))',
    );
  }
}

/** The largest payload any transport carries: a segment's maxPayloadBytes and NATS's max_payload stop at 64 MiB. */
export const MAX_ENCODED_BYTES = LAYOUT_LIMITS.maxPayloadBytes;

/**
 * The Packr's refuseSize (scripts/msgpackr-patches.ts): the value needs more
 * than MAX_ENCODED_BYTES. Refused as soon as msgpackr would grow its buffer
 * past that, not after encoding it all (a sparse array's holes cost a byte
 * each, however few elements it has).
 */
export function refuseSize(bytes: number): never {
  throw new PhoenixError(
    'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
    `the value needs at least ${bytes} bytes encoded, more than the ${MAX_ENCODED_BYTES} any PhoenixIPC transport carries`,
  );
}
