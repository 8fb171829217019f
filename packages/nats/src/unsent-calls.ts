/**
 * The calls a NatsCaller could not send yet because its connection is down
 * (reconnecting), in call order, and the watch on the connection's status
 * that sends them once it is back. nats.js 3.x empties its outbound buffer
 * each time it dials (ProtocolHandler.prepare() calls resetOutbound()), so a
 * request published while disconnected would be dropped without a word.
 */
import type { MsgHdrs, NatsConnection, Status } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import type { NatsReply } from './caller-wire.js';

/** One call of a NatsCaller, from the call until its outcome. */
export interface PendingRequest {
  id: number;
  funcId: number;
  resolve: (reply: NatsReply) => void;
  reject: (error: PhoenixError) => void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** The request, while it waits here for the connection to come back; null once published. */
  unsent: { bytes: Uint8Array; headers: MsgHdrs } | null;
}

/** Calls that may wait for the connection to come back, at most; beyond, ERR_PHOENIX_UNAVAILABLE at once. */
const MAX_QUEUED_CALLS = 8192;
/** Payload bytes that may wait for the connection to come back, at most. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

export class UnsentCalls {
  readonly #connection: NatsConnection;
  readonly #publish: (pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs) => void;
  readonly #fail: (pending: PendingRequest, error: PhoenixError) => void;
  readonly #queue = new Map<number, PendingRequest>();
  #bytes = 0;
  /** False from a 'disconnect' status of the connection to the next 'reconnect'. */
  #statusUp = true;
  #statusIterator: AsyncIterable<Status> | null = null;

  /** `publish` sends a call; `fail` settles one that cannot wait (the queue is full). */
  constructor(
    connection: NatsConnection,
    publish: (pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs) => void,
    fail: (pending: PendingRequest, error: PhoenixError) => void,
  ) {
    this.#connection = connection;
    this.#publish = publish;
    this.#fail = fail;
    this.#watchStatus();
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
    if (this.#queue.size === 0 && this.#linkUp()) return false;
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
    (this.#statusIterator as { stop?: () => void } | null)?.stop?.();
  }

  /**
   * Whether a publish now reaches the socket. The 'disconnect' status reaches
   * us a few microtasks after nats.js marked the connection down (nats.js 3.x:
   * ProtocolHandler.connected, set false as the socket closes): a publish in
   * between would be dropped too. Read when present; a connection without it
   * (another client) has the status events alone.
   */
  #linkUp(): boolean {
    if (!this.#statusUp) return false;
    return (this.#connection as { protocol?: { connected?: unknown } }).protocol?.connected !== false;
  }

  /** The connection is back: sends the waiting calls, in order (their deadlines were fixed when they were made). */
  #sendAll(): void {
    for (const pending of this.#queue.values()) {
      if (!this.#linkUp()) return; // down again already: the next 'reconnect' sends the rest
      const { bytes, headers } = pending.unsent!;
      this.remove(pending);
      this.#publish(pending, bytes, headers);
    }
  }

  /** Follows the connection's status: down at 'disconnect', up (and the queue sent) at 'reconnect'. */
  #watchStatus(): void {
    const status = (this.#connection as { status?: () => AsyncIterable<Status> }).status;
    if (typeof status !== 'function') return; // not nats.js: publishes go out as they come
    const iterator = status.call(this.#connection);
    this.#statusIterator = iterator;
    void (async () => {
      try {
        for await (const event of iterator) {
          if (event.type === 'disconnect') this.#statusUp = false;
          else if (event.type === 'reconnect') {
            this.#statusUp = true;
            this.#sendAll();
          }
        }
      } catch {
        // The iterator failed: nothing more will come. Calls still waiting end by their timeout, or when the
        // connection closes (the caller fails them).
      }
    })();
  }
}
