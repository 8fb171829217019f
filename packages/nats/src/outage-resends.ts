/**
 * Calls that waited through an outage of the caller's connection, sent again
 * while NATS answers "no responders" for a short while after the reconnect.
 *
 * After a NATS server restart the caller often reconnects before the bridges
 * have re-subscribed (each reconnects on its own timer), so the calls it held
 * would find nobody, although the bridges are about to come back: the README
 * promises such calls wait through a restart. "No responders" (status 503)
 * means no subscriber received the request, so sending it again cannot run it
 * twice: delivery stays at most once.
 *
 *   reconnect ──▶ queued call sent ──▶ 503 ──▶ wait (25, 50, ... 400 ms) ──▶ sent again ──▶ ...
 *                                        │
 *                                        └─ grace window or the call's deadline over ──▶ ERR_PHOENIX_UNAVAILABLE
 *
 * Calls made while the connection was up still fail at once on "no
 * responders": nobody is known to be coming back for them.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import type { PendingRequest } from './unsent-calls.js';
import { DEADLINE_HEADER } from './wire.js';

/**
 * How long after the reconnect that sent it a call that waited through the
 * outage may be sent again on "no responders", in ms. Covers a bridge that
 * reconnects on nats.js's default reconnectTimeWait (2 s, plus jitter) after
 * the caller did; a service that is really gone costs such calls this long.
 */
export const RESEND_GRACE_MS = 5000;
/** The first wait before sending again; it doubles up to MAX_RESEND_DELAY_MS. */
const FIRST_RESEND_DELAY_MS = 25;
const MAX_RESEND_DELAY_MS = 400;

interface Resend {
  bytes: Uint8Array;
  headers: MsgHdrs;
  /** Date.now() from which a "no responders" is final: the grace window's end or the call's deadline. */
  until: number;
  delayMs: number;
  /** Armed while the call waits to be sent again. */
  timer: NodeJS.Timeout | undefined;
}

export class OutageResends {
  readonly #send: (pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs) => void;
  readonly #calls = new Map<PendingRequest, Resend>();
  /** Drops the requests of calls whose grace window is over (a call that waits for a reply keeps no copy). */
  #sweep: NodeJS.Timeout | undefined;

  /** `send` sends a call again (or queues it, if the connection is down once more). */
  constructor(send: (pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs) => void) {
    this.#send = send;
  }

  /**
   * `pending` waited through an outage and is sent now: keeps what it takes to
   * send it again, until the grace window from now is over.
   */
  track(pending: PendingRequest, bytes: Uint8Array, headers: MsgHdrs): void {
    this.forget(pending);
    const deadline = Number(headers.get(DEADLINE_HEADER));
    const graceEnd = Date.now() + RESEND_GRACE_MS;
    this.#calls.set(pending, {
      bytes,
      headers,
      until: deadline > 0 ? Math.min(graceEnd, deadline) : graceEnd,
      delayMs: FIRST_RESEND_DELAY_MS,
      timer: undefined,
    });
    this.#sweep ??= setTimeout(() => this.#dropExpired(), RESEND_GRACE_MS).unref();
  }

  /**
   * NATS said nobody serves `pending`'s subject. True when the call will be
   * sent again after a short wait; false when that answer is final (the call
   * did not wait through an outage, or its grace window or deadline is over).
   */
  retry(pending: PendingRequest): boolean {
    const resend = this.#calls.get(pending);
    if (resend === undefined || resend.timer !== undefined) return false;
    if (Date.now() + resend.delayMs >= resend.until) {
      this.#calls.delete(pending);
      return false;
    }
    resend.timer = setTimeout(() => {
      resend.timer = undefined;
      this.#send(pending, resend.bytes, resend.headers);
    }, resend.delayMs);
    resend.delayMs = Math.min(resend.delayMs * 2, MAX_RESEND_DELAY_MS);
    return true;
  }

  /** Whether `pending` waits to be sent again: it has reached nobody, so it did not run. */
  waiting(pending: PendingRequest): boolean {
    return this.#calls.get(pending)?.timer !== undefined;
  }

  /** The call settled: it will not be sent again. */
  forget(pending: PendingRequest): void {
    const resend = this.#calls.get(pending);
    if (resend === undefined) return;
    if (resend.timer !== undefined) clearTimeout(resend.timer);
    this.#calls.delete(pending);
  }

  #dropExpired(): void {
    this.#sweep = undefined;
    const now = Date.now();
    for (const [pending, resend] of this.#calls) {
      if (resend.timer === undefined && resend.until <= now) this.#calls.delete(pending);
    }
    if (this.#calls.size > 0) this.#sweep = setTimeout(() => this.#dropExpired(), RESEND_GRACE_MS).unref();
  }
}
