/**
 * The replies a NatsBridge could not send because its connection was down
 * when their calls finished, in order; sent once it is back (link-status.ts
 * says why they cannot simply be published). A caller whose timeout has run
 * out meanwhile has stopped listening, and its reply goes nowhere, which is
 * harmless. A held reply's `onDone` learns its fate: sent, or dropped (the
 * bridge stopped, or the connection closed for good before it came back).
 */
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { LinkStatus } from './link-status.js';

/** Replies held at most; beyond, a reply is dropped and its caller ends by its timeout. */
const MAX_HELD_REPLIES = 8192;
/** Reply bytes held at most. */
const MAX_HELD_BYTES = 64 * 1024 * 1024;

/** What became of a reply: sent now, held for later (its onDone says), or lost. */
export type ReplyOutcome = 'sent' | 'held' | 'lost';

interface HeldReply {
  msg: Msg;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  onDone: ((sent: boolean) => void) | undefined;
}

export class HeldReplies {
  readonly #link: LinkStatus;
  readonly #held: HeldReply[] = [];
  #bytes = 0;

  readonly #connection: NatsConnection;

  constructor(connection: NatsConnection) {
    this.#connection = connection;
    this.#link = new LinkStatus(connection, () => this.#sendAll());
    // Closed for good: nothing held will ever go out.
    void connection.closed().then(
      () => this.#dropAll(),
      () => this.#dropAll(),
    );
  }

  /** Replies held now. */
  get size(): number {
    return this.#held.length;
  }

  /**
   * Sends the reply now, or holds it while the connection is down (behind
   * replies held before it; `onDone` is told when it is sent or dropped).
   * Lost when too much is held already, or the connection is closed or
   * refused it.
   */
  respond(msg: Msg, data: Uint8Array, headers: MsgHdrs | undefined, onDone?: (sent: boolean) => void): ReplyOutcome {
    if (this.#connection.isClosed()) return 'lost';
    if (this.#held.length === 0 && this.#link.up) return send(msg, data, headers) ? 'sent' : 'lost';
    if (this.#held.length >= MAX_HELD_REPLIES || this.#bytes + data.length > MAX_HELD_BYTES) return 'lost';
    this.#held.push({ msg, data, headers, onDone });
    this.#bytes += data.length;
    return 'held';
  }

  /** The bridge stops: what is still held is dropped, and the connection's status is no longer followed. */
  stop(): void {
    this.#link.stop();
    this.#dropAll();
  }

  #dropAll(): void {
    const dropped = this.#held.splice(0);
    this.#bytes = 0;
    for (const reply of dropped) reply.onDone?.(false);
  }

  #sendAll(): void {
    let sent = 0;
    const done: [HeldReply, boolean][] = [];
    while (sent < this.#held.length && this.#link.up) {
      const reply = this.#held[sent++]!;
      this.#bytes -= reply.data.length;
      done.push([reply, send(reply.msg, reply.data, reply.headers)]);
    }
    this.#held.splice(0, sent);
    for (const [reply, ok] of done) reply.onDone?.(ok);
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
