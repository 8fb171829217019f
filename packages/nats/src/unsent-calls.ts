/**
 * The calls a NatsCaller could not send yet because its connection is down
 * (reconnecting), in call order; sent once it is back (link-status.ts says
 * why they cannot simply be published).
 */
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import type { NatsReply } from './caller-wire.js';
import { LinkStatus } from './link-status.js';

/** One call of a NatsCaller, from the call until its outcome. */
export interface PendingRequest {
  id: number;
  funcId: number;
  resolve: (reply: NatsReply) => void;
  reject: (error: PhoenixError) => void;
  timer: NodeJS.Timeout | undefined;
  /** The call's AbortSignal, if it has one (the caller's AbortWatch listens to it). */
  signal: AbortSignal | undefined;
  /** The request, while it waits here for the connection to come back; null once published. */
  unsent: { bytes: Uint8Array; headers: MsgHdrs } | null;
}

/** Calls that may wait for the connection to come back, at most; beyond, ERR_PHOENIX_UNAVAILABLE at once. */
const MAX_QUEUED_CALLS = 8192;
/** Payload bytes that may wait for the connection to come back, at most. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export class UnsentCalls {
  readonly #publish: (pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs) => void;
  readonly #fail: (pending: PendingRequest, error: PhoenixError) => void;
  readonly #queue = new Map<number, PendingRequest>();
  #bytes = 0;
  readonly #link: LinkStatus;

  /** `publish` sends a call; `fail` settles one that cannot wait (the queue is full). */
  constructor(
    connection: NatsConnection,
    publish: (pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs) => void,
    fail: (pending: PendingRequest, error: PhoenixError) => void,
  ) {
    this.#publish = publish;
    this.#fail = fail;
    this.#link = new LinkStatus(connection, () => this.#sendAll());
  }

  get size(): number {
    return this.#queue.size;
  }

  /**
   * Keeps the call if it must wait: the connection is down, or calls made
   * before it still wait (calls go out in the order they were made). False
   * when it may be published now.
   */
  add(pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs): boolean {
    if (this.#queue.size === 0 && this.#link.up) return false;
    if (this.#queue.size >= MAX_QUEUED_CALLS || this.#bytes + bytes.length > MAX_QUEUED_BYTES) {
      this.#fail(
        pending,
        new PhoenixError(
          'ERR_PHOENIX_UNAVAILABLE',
          `call ${pending.id} (func ${pending.funcId}) not sent: the NATS connection is down (reconnecting) and ${this.#queue.size} calls (${this.#bytes} bytes) already wait for it`,
          { seqId: pending.id, funcId: pending.funcId },
        ),
      );
      return true;
    }
    // A copy: the caller may reuse its buffer once call() has returned, as a publish would have copied it by then.
    pending.unsent = { bytes: bytes.slice(), headers };
    this.#queue.set(pending.id, pending);
    this.#bytes += bytes.length;
    return true;
  }

  /** The call settled (timeout, abort, close): it no longer waits. */
  remove(pending: PendingRequest): void {
    if (pending.unsent === null) return;
    this.#bytes -= pending.unsent.bytes.length;
    this.#queue.delete(pending.id);
    pending.unsent = null;
  }

  /** Stops following the status of a connection we do not own (closing one stops its iterators itself). */
  stopWatching(): void {
    this.#link.stop();
  }

  /** The connection is back: sends the waiting calls, in order (their deadlines were fixed when they were made). */
  #sendAll(): void {
    for (const pending of this.#queue.values()) {
      if (!this.#link.up) return; // down again already: the next 'reconnect' sends the rest
      const { bytes, headers } = pending.unsent!;
      this.remove(pending);
      this.#publish(pending, bytes, headers);
    }
  }
}
