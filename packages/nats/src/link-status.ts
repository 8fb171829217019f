/**
 * Whether a NATS connection can carry a publish now, followed through its
 * status events. nats.js 3.x drops what is published while it is
 * disconnected: it empties its outbound buffer each time it dials
 * (ProtocolHandler.prepare() calls resetOutbound()). So whoever publishes
 * must hold its messages while the link is down, and send them when it is
 * back (`onUp`).
 */
import type { NatsConnection, Status } from '@nats-io/transport-node';

export class LinkStatus {
  readonly #connection: NatsConnection;
  readonly #onUp: () => void;
  /** False from a 'disconnect' status of the connection to the next 'reconnect'. */
  #statusUp = true;
  #iterator: AsyncIterable<Status> | null = null;

  constructor(connection: NatsConnection, onUp: () => void) {
    this.#connection = connection;
    this.#onUp = onUp;
    this.#watch();
  }

  /**
   * Whether a publish now reaches the socket. The 'disconnect' status reaches
   * us a few microtasks after nats.js marked the connection down (nats.js 3.x:
   * ProtocolHandler.connected, set false as the socket closes): a publish in
   * between would be dropped too. Read when present; a connection without it
   * (another client) has the status events alone.
   */
  get up(): boolean {
    if (!this.#statusUp) return false;
    return (this.#connection as { protocol?: { connected?: unknown } }).protocol?.connected !== false;
  }

  /** Stops following the status of a connection we do not own (closing one stops its iterators itself). */
  stop(): void {
    (this.#iterator as { stop?: () => void } | null)?.stop?.();
  }

  #watch(): void {
    const status = (this.#connection as { status?: () => AsyncIterable<Status> }).status;
    if (typeof status !== 'function') return; // not nats.js: publishes go out as they come
    const iterator = status.call(this.#connection);
    this.#iterator = iterator;
    void (async () => {
      try {
        for await (const event of iterator) {
          if (event.type === 'disconnect') this.#statusUp = false;
          else if (event.type === 'reconnect') {
            this.#statusUp = true;
            this.#onUp();
          }
        }
      } catch {
        // The iterator failed: nothing more will come. What is held ends by its caller's timeout, or when the
        // connection closes.
      }
    })();
  }
}
