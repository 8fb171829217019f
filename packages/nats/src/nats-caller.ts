/**
 * NatsCaller: IpcClient's call API, over NATS, for the bridges of one
 * service. Each call is one NATS request to `phoenix.<service>.<funcId>`
 * (wire.ts); replies come back on one inbox subscription of the caller
 * (`<inbox>.<call id>`), so a call costs no subscription of its own.
 *
 * While the connection is down (reconnecting), calls wait in the caller's
 * own queue and are published once it is back: nats.js 3.x empties its
 * outbound buffer each time it dials (ProtocolHandler.prepare() calls
 * resetOutbound()), so a request published while disconnected would be
 * dropped without a word.
 */

import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { type CallOptions, type Payload, PhoenixError, type Priority } from '@phoenix-ipc/client';
import {
  AbortWatch,
  checkFuncId,
  contiguousPayload,
  DefaultCallOptions,
  type ResolvedCall,
  resolveCallOptions,
  toPayload,
} from '@phoenix-ipc/client/internal';
import { checkCallerOptions, invalid, type NatsCallerOptions } from './caller-options.js';
import {
  isNoResponders,
  type NatsReply,
  publishFailure,
  REQUEST_HEADER_BYTES,
  readReply,
  requestHeaders,
} from './caller-wire.js';
import {
  checkConnectionOpen,
  checkInboxPrefix,
  isNatsConnection,
  type NatsConnectOptions,
  openConnection,
} from './connection.js';
import { onConnectionClosed } from './connection-closed.js';
import { OutageResends } from './outage-resends.js';
import { type PendingRequest, UnsentCalls } from './unsent-calls.js';
import { checkToken, requestSubject } from './wire.js';

export type { NatsCallerOptions } from './caller-options.js';
export type { NatsReply } from './caller-wire.js';

export class NatsCaller {
  readonly service: string;
  readonly #connection: NatsConnection;
  #ownsConnection = false;
  readonly #defaults: DefaultCallOptions;
  readonly #inbox: string;
  readonly #subscription: Subscription;
  readonly #pending = new Map<number, PendingRequest>();
  /** Calls not sent yet because the connection is down, in call order: a subset of #pending. */
  readonly #unsent: UnsentCalls;
  /** Calls that waited through an outage, sent again while nobody serves them yet after the reconnect. */
  readonly #resends = new OutageResends((pending, bytes, headers) => this.#send(pending, bytes, headers));
  readonly #subjects = new Map<number, string>();
  /** One 'abort' listener per signal, however many calls share it. */
  readonly #aborts = new AbortWatch<PendingRequest>((pending) => this.#abort(pending));
  #nextId = 0;
  /** Why calls are refused: null while open. */
  #gone: PhoenixError | null = null;
  #closing: Promise<void> | null = null;
  readonly #detachClosed: () => void;

  /**
   * A caller of `service` over `connection`, a NatsConnection you opened
   * (and close yourself, after close()). ERR_PHOENIX_INVALID_ARGUMENT for a
   * bad argument.
   */
  constructor(connection: NatsConnection, service: string, options: NatsCallerOptions = {}) {
    if (!isNatsConnection(connection)) {
      throw invalid('NatsCaller: connection must be a NatsConnection (or use NatsCaller.connect(options, service))');
    }
    this.service = checkToken(service, 'service');
    const defaultTimeoutMs = checkCallerOptions(options);
    checkConnectionOpen(connection, 'NatsCaller');
    this.#connection = connection;
    this.#defaults = new DefaultCallOptions(defaultTimeoutMs, 'wait');
    // Honour the connection's inboxPrefix (accounts that may only subscribe below a prefix). Checked here too: a
    // connection opened elsewhere may carry one nats.js let through.
    const inboxPrefix = (connection as { options?: { inboxPrefix?: unknown } }).options?.inboxPrefix;
    if (inboxPrefix !== undefined) checkInboxPrefix(inboxPrefix, 'NatsCaller: the NatsConnection');
    try {
      this.#inbox = `${createInbox(inboxPrefix as string | undefined)}.`;
      this.#subscription = connection.subscribe(`${this.#inbox}*`, {
        callback: (error, msg) => {
          if (error !== null) return;
          try {
            this.#onReply(msg);
          } catch {
            // A malformed message on our inbox: not a reply we can read; its call times out.
          }
        },
      });
    } catch (error) {
      // Whatever nats.js refuses here is about the connection we were given (its options, its state).
      throw new PhoenixError(
        'ERR_PHOENIX_INVALID_ARGUMENT',
        `NatsCaller: cannot subscribe to a reply inbox on the NatsConnection: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    // Not a reaction of our own on connection.closed(): close() could not take it back, and a closed caller would
    // stay reachable from a connection the application keeps open.
    this.#detachClosed = onConnectionClosed(connection, () => this.#connectionClosed());
    this.#unsent = new UnsentCalls(
      connection,
      (pending, bytes, headers) => {
        this.#resends.track(pending, bytes, headers);
        this.#publish(pending, bytes, headers);
      },
      (pending, error) => this.#finish(pending, error),
    );
  }

  /**
   * Opens a NATS connection from `connectOptions` (it reconnects forever
   * unless they say otherwise; close() closes it) and returns a caller of
   * `service` on it. Rejects ERR_PHOENIX_INVALID_ARGUMENT for a bad argument
   * (before connecting), ERR_PHOENIX_CONNECT_REFUSED / _CONNECT_TIMEOUT /
   * _PERMISSION when the connection fails.
   */
  static async connect(
    connectOptions: NatsConnectOptions,
    service: string,
    options: NatsCallerOptions = {},
  ): Promise<NatsCaller> {
    checkToken(service, 'service');
    checkCallerOptions(options);
    const connection = await openConnection(connectOptions, `phoenix-caller ${service}`, 'NatsCaller.connect options');
    let caller: NatsCaller;
    try {
      caller = new NatsCaller(connection, service, options);
    } catch (error) {
      // Nobody else holds this connection: left open, it would reconnect forever.
      await connection.close().catch(() => undefined);
      throw error;
    }
    caller.#ownsConnection = true;
    try {
      await connection.flush(); // the reply subscription is known to the server
    } catch (error) {
      await caller.close();
      throw PhoenixError.from(error, 'ERR_PHOENIX_SERVER_GONE');
    }
    return caller;
  }

  /**
   * Calls `funcId` on whichever bridge of the service NATS picks. Same
   * signature as IpcClient.call; times out after `timeoutMs` (default: the
   * defaultTimeoutMs option). Resolves to the reply; rejects with a
   * PhoenixError: the remote one (same code and fields as locally), or
   * ERR_PHOENIX_UNAVAILABLE (no bridge serves the service), _TIMEOUT (no
   * reply in time: the outcome is unknown), _PAYLOAD_TOO_LARGE (above the
   * NATS server's max_payload; not sent), _SERVER_GONE (the connection
   * closed, or close() was called), _ABORTED.
   */
  call(
    funcId: number,
    payload?: Payload,
    priorityOrOptions?: Priority | CallOptions,
    timeoutMs?: number,
  ): Promise<NatsReply> {
    return this.#request(funcId, payload, priorityOrOptions, timeoutMs);
  }

  /**
   * Like call(), with IpcClient.callAsync's signature. Over a network a call
   * without a deadline could wait forever for a host that died, so it too
   * times out after defaultTimeoutMs unless its options say otherwise
   * (`timeoutMs: Infinity` for none).
   */
  callAsync(funcId: number, payload?: Payload, priorityOrOptions?: Priority | CallOptions): Promise<NatsReply> {
    return this.#request(funcId, payload, priorityOrOptions, undefined);
  }

  /** Calls not settled yet: sent and not yet answered, or waiting for the connection to come back. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** Calls waiting for the connection to come back (not sent yet; included in pendingCalls). */
  get queuedCalls(): number {
    return this.#unsent.size;
  }

  /**
   * Stops: calls sent and not yet answered reject ERR_PHOENIX_SERVER_GONE
   * (their outcome is unknown), calls still waiting for the connection to
   * come back ERR_PHOENIX_UNAVAILABLE (never sent), later calls
   * ERR_PHOENIX_SERVER_GONE; closes the connection if connect() opened it.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#gone === null) this.#gone = new PhoenixError('ERR_PHOENIX_SERVER_GONE', 'the NatsCaller is closed');
    this.#failAll(this.#gone);
    // A connection we do not own lives on: stop listening to its status and for its close (closing one stops its
    // iterators itself).
    this.#detachClosed();
    this.#unsent.stopWatching();
    if (this.#connection.isClosed()) return;
    if (this.#ownsConnection) await this.#connection.close();
    else this.#subscription.unsubscribe();
  }

  #resolve(priorityOrOptions: Priority | CallOptions | undefined, timeoutMs: number | undefined): ResolvedCall {
    if (timeoutMs === undefined) {
      const shared = this.#defaults.forPriority(priorityOrOptions);
      if (shared !== null) return shared;
    }
    if (
      typeof priorityOrOptions === 'object' &&
      priorityOrOptions !== null &&
      priorityOrOptions.onQueueFull !== undefined
    ) {
      throw invalid(
        "option onQueueFull is not supported over NATS: the bridge's server applies its own policy, and a bridge at maxInFlight answers ERR_PHOENIX_QUEUE_FULL",
      );
    }
    return resolveCallOptions(priorityOrOptions, timeoutMs, this.#defaults.base);
  }

  #request(
    funcId: number,
    payload: Payload | undefined,
    priorityOrOptions: Priority | CallOptions | undefined,
    timeoutMs: number | undefined,
  ): Promise<NatsReply> {
    let id: number;
    let options: ResolvedCall;
    let bytes: Uint8Array;
    try {
      id = checkFuncId(funcId);
      options = this.#resolve(priorityOrOptions, timeoutMs);
      bytes = contiguousPayload(toPayload(payload));
      if (this.#gone === null && this.#connection.isClosed()) this.#connectionClosed();
      if (this.#gone !== null) throw this.#gone;
      if (options.signal?.aborted) {
        throw new PhoenixError('ERR_PHOENIX_ABORTED', 'the call was aborted before it was sent', { funcId: id });
      }
      const maxPayload = this.#connection.info?.max_payload;
      if (maxPayload !== undefined && bytes.length + REQUEST_HEADER_BYTES > maxPayload) {
        throw new PhoenixError(
          'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
          `a payload of ${bytes.length} bytes (plus ${REQUEST_HEADER_BYTES} bytes of headers) exceeds the NATS server's max_payload of ${maxPayload} bytes; not sent`,
          { funcId: id },
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const seqId = ++this.#nextId;
    const hdrs = requestHeaders(options.priority, options.timeoutMs);
    return new Promise<NatsReply>((resolve, reject) => {
      const pending: PendingRequest = {
        id: seqId,
        funcId: id,
        resolve,
        reject,
        timer: undefined,
        signal: undefined,
        unsent: null,
      };
      this.#pending.set(seqId, pending);
      if (options.timeoutMs !== 0) {
        const ms = options.timeoutMs;
        pending.timer = setTimeout(
          () =>
            this.#finish(
              pending,
              new PhoenixError('ERR_PHOENIX_TIMEOUT', this.#timeoutMessage(pending, ms), { seqId, funcId: id }),
            ),
          ms,
        );
      }
      const signal = options.signal;
      if (signal !== undefined) {
        pending.signal = signal;
        this.#aborts.add(signal, pending);
      }
      this.#send(pending, bytes, hdrs);
    });
  }

  /** Publishes the call, or queues it while the connection is down. */
  #send(pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs): void {
    // Behind calls already waiting, a call waits too: calls are sent in the order they were made.
    if (!this.#unsent.add(pending, bytes, headers)) this.#publish(pending, bytes, headers);
  }

  /** Why `pending` has reached no bridge yet (so it did not run), or null once it may have. */
  #notSentBecause(pending: PendingRequest): string | null {
    if (pending.unsent !== null) return 'the NATS connection was down (reconnecting)';
    if (this.#resends.waiting(pending)) return 'no bridge served it yet after the NATS connection came back';
    return null;
  }

  #timeoutMessage(pending: PendingRequest, ms: number): string {
    const why = this.#notSentBecause(pending);
    return why === null
      ? `call ${pending.id} (func ${pending.funcId}) over NATS got no reply within ${ms} ms; the outcome is unknown`
      : `call ${pending.id} (func ${pending.funcId}) over NATS was not sent within ${ms} ms: ${why}; it did not run`;
  }

  #publish(pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs): void {
    try {
      this.#connection.publish(this.#subject(pending.funcId), bytes, {
        reply: `${this.#inbox}${pending.id}`,
        headers,
      });
    } catch (error) {
      this.#finish(pending, publishFailure(error, pending.funcId));
    }
  }

  #subject(funcId: number): string {
    let subject = this.#subjects.get(funcId);
    if (subject === undefined) {
      subject = requestSubject(this.service, funcId);
      if (this.#subjects.size < 4096) this.#subjects.set(funcId, subject);
    }
    return subject;
  }

  /** Settles a pending call once, with `outcome`: a reply or a PhoenixError. */
  #finish(pending: PendingRequest, outcome: NatsReply | PhoenixError): void {
    if (this.#pending.get(pending.id) !== pending) return;
    this.#pending.delete(pending.id);
    this.#unsent.remove(pending);
    this.#resends.forget(pending);
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    if (pending.signal !== undefined) this.#aborts.remove(pending.signal, pending);
    // A signal keeps its listener while calls of this caller pend (its next call reuses it); with none left, every
    // listener goes. A NATS round trip is ~0.1 ms, and adding a listener ~1 µs: no need to keep one longer.
    if (this.#pending.size === 0) this.#aborts.releaseIdle();
    if (outcome instanceof PhoenixError) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  #abort(pending: PendingRequest): void {
    const { id: seqId, funcId } = pending;
    const why = this.#notSentBecause(pending);
    this.#finish(
      pending,
      new PhoenixError(
        'ERR_PHOENIX_ABORTED',
        why === null
          ? `call ${seqId} (func ${funcId}) was aborted; the bridge may still run it`
          : `call ${seqId} (func ${funcId}) was aborted before it was sent (${why}); it did not run`,
        { seqId, funcId },
      ),
    );
  }

  #onReply(msg: Msg): void {
    const pending = this.#pending.get(Number(msg.subject.slice(this.#inbox.length)));
    if (pending === undefined) return; // late (timed out, aborted) or not ours
    // Nobody received it: a call that waited through an outage is sent again while the bridges come back.
    if (isNoResponders(msg) && this.#resends.retry(pending)) return;
    this.#finish(pending, readReply(msg, this.#subject(pending.funcId), pending.id, pending.funcId));
  }

  #connectionClosed(): void {
    if (this.#gone === null) this.#gone = new PhoenixError('ERR_PHOENIX_SERVER_GONE', 'the NATS connection closed');
    this.#failAll(this.#gone);
  }

  /** Settles every pending call: `reason` for those sent (their outcome is unknown), UNAVAILABLE for those never sent. */
  #failAll(reason: PhoenixError): void {
    for (const pending of [...this.#pending.values()]) {
      const why = this.#notSentBecause(pending);
      const error =
        why === null
          ? new PhoenixError(
              reason.code,
              `call ${pending.id} (func ${pending.funcId}): ${reason.message}; the outcome is unknown`,
              { seqId: pending.id, funcId: pending.funcId },
            )
          : new PhoenixError(
              'ERR_PHOENIX_UNAVAILABLE',
              `call ${pending.id} (func ${pending.funcId}) was never sent (${reason.message}): ${why}; it did not run`,
              { seqId: pending.id, funcId: pending.funcId },
            );
      this.#finish(pending, error);
    }
  }
}
