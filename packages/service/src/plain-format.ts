/**
 * Shared by plain-write.ts and plain-read.ts: a fast path for the JSON-like
 * subset of msgpack (plain objects, arrays, strings, numbers, booleans and
 * null, plus Buffers and Uint8Arrays), the bulk of request/response values.
 * It writes and reads standard msgpack, the same bytes msgpackr reads and
 * writes for these values (objects as maps, no records), at about half
 * msgpackr's cost per small value (measured in apps/stress, `--filter
 * service`): no arena set-up, no extension lookups.
 *
 * Anything else (undefined, Date, Map, Set, BigInt, other typed arrays, class
 * instances, cycles, very deep values; other extensions and 64-bit integers
 * when reading) makes it give up, and the caller hands the whole value or
 * message to msgpackr. So do bytes that are not well-formed: msgpackr then
 * says why.
 */

export const MAX_DEPTH = 64;
export const TYPED_ARRAY_EXTENSION = 0x74; // msgpackr's 't'
export const UINT8_ARRAY_KIND = 1;

/** Node's Buffer methods without argument checks (msgpackr uses them too). */
export type NodeBuffer = Buffer & {
  utf8Write(text: string, offset: number, length: number): number;
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
};
