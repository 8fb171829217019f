/**
 * The replies a NatsBridge could not send because its connection was down
 * when their calls finished, in order; sent once it is back (link-status.ts
 * says why they cannot simply be published). A caller whose timeout has run
 * out meanwhile has stopped listening, and its reply goes nowhere, which is
 * harmless.
 */
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { LinkStatus } from './link-status.js';

/** Replies held at most; beyond, a reply is dropped and its caller ends by its timeout. */
const MAX_HELD_REPLIES = 8192;
/** Reply bytes held at most. */
const MAX_HELD_BYTES = 64 * 1024 * 1024;

interface HeldReply {
  msg: Msg;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
}

export class HeldReplies {
  readonly #link: LinkStatus;
  readonly #held: HeldReply[] = [];
  #bytes = 0;

  constructor(connection: NatsConnection) {
    this.#link = new LinkStatus(connection, () => this.#sendAll());
  }

  /** Replies held now. */
  get size(): number {
    return this.#held.length;
  }

  /**
   * Sends the reply now, or holds it while the connection is down (behind
   * replies held before it). False when it is lost: too much is held
   * already, or the connection refused it (closed).
   */
  respond(msg: Msg, data: Uint8Array, headers: MsgHdrs | undefined): boolean {
    if (this.#held.length === 0 && this.#link.up) return send(msg, data, headers);
    if (this.#held.length >= MAX_HELD_REPLIES || this.#bytes + data.length > MAX_HELD_BYTES) return false;
    this.#held.push({ msg, data, headers });
    this.#bytes += data.length;
    return true;
  }

  /** The bridge stops: what is still held is dropped, and the connection's status is no longer followed. */
  stop(): void {
    this.#link.stop();
    this.#held.length = 0;
    this.#bytes = 0;
  }

  #sendAll(): void {
    let sent = 0;
    while (sent < this.#held.length && this.#link.up) {
      const { msg, data, headers } = this.#held[sent++]!;
      this.#bytes -= data.length;
      send(msg, data, headers);
    }
    this.#held.splice(0, sent);
  }
}

function send(msg: Msg, data: Uint8Array, headers: MsgHdrs | undefined): boolean {
  try {
    msg.respond(data, headers === undefined ? undefined : { headers });
    return true;
  } catch {
    return false; // the connection closed meanwhile: nobody can be told
  }
}
