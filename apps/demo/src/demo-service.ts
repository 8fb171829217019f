/**
 * The demo's typed service, shared by the server (which implements it) and
 * the client (which calls it by name). Func ids 1001 and 1002 are the raw
 * handlers of the bytes API; the typed methods use their own ids.
 */
import { defineService } from '@phoenix-ipc/service';

export interface Shop {
  /** Quotes `count` items: structured values in and out (a Date, a BigInt). */
  quote(input: { item: string; count: number; at: Date }): { item: string; total: bigint; quotedAt: Date; by: number };
  /** What this worker has served: a Map and a Date come back as a Map and a Date. */
  stats(): { served: number; since: Date; items: Map<string, number> };
  /** Always fails: the caller gets the error's name, message, code and fields. */
  reserve(input: { item: string }): never;
  /** The demo's round-trip measure: a small record in, a similar one out. */
  record(input: { id: number; name: string; tags: string[] }): { id: number; name: string; tags: string[] };
}

export const shop = defineService<Shop>('shop', { quote: 2001, stats: 2002, reserve: 2003, record: 2004 });
