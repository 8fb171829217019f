/**
 * The bridge: a queue subscription on `phoenix.<service>.*` that forwards
 * each request to the PhoenixIPC server's `callAsync` and answers with the
 * reply payload, or with the PhoenixError (see wire.ts, error-wire.ts).
 *
 *   NATS ──msg──▶ checks (garbage, unknown func id, deadline, maxInFlight, maxInFlightBytes)
 *                   │ pass                                  │ fail
 *                   ▼                                       ▼
 *        server.callAsync(funcId, data, { priority, timeLeft })   error reply at once
 *                   │
 *                   ▼
 *        reply payload ──▶ msg.respond          PhoenixError ──▶ error reply
 */

import { headers, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { PhoenixError, Priority, type Reply } from '@phoenix-ipc/client';
import type { IpcServer } from '@phoenix-ipc/server';
import { MAX_FUNC_ID } from '@phoenix-ipc/shm-layout';
import { type ResolvedBridgeOptions, resolveBridgeOptions, type ServeOverNatsOptions } from './bridge-options.js';
import { checkConnectionArgument, isNatsConnection, type NatsConnectOptions, openConnection } from './connection.js';
import { encodeError, failureHeaders, MIN_ERROR_BODY_BYTES } from './error-wire.js';
import { HeldReplies } from './held-replies.js';
import { type InFlightBound, InFlightLimit } from './in-flight-limit.js';
import { MicroServiceResponder } from './micro-service.js';
import {
  DEADLINE_HEADER,
  FUNC_ID_HEADER,
  headerBlockBytes,
  PRIORITY_HEADER,
  parseFuncIdToken,
  requestHeadersProblem,
  serviceWildcard,
  WIRE_VERSION,
} from './wire.js';

/** What a bridge has done so far. received = replied + failed + inFlight. */
export interface BridgeStats {
  /** Messages that arrived on the service's subjects. */
  received: number;
  /** Answered with the reply payload. */
  replied: number;
  /** Answered with an error, or not answerable (no reply subject, connection gone). */
  failed: number;
  /** Forwarded to the server and not yet answered. */
  inFlight: number;
}

// What the micro service stats record for requests refused before they ran.
const LATE = new PhoenixError('ERR_PHOENIX_TIMEOUT', 'arrived after its deadline');
/** Stops a bridge at once: serveOverNats's, for a bridge it could not finish starting. */
let abandonBridge: (bridge: NatsBridge) => void;

/**
 * The longest time left the bridge gives the server, in ms (about 24.8 days;
 * a deadline further away waits this long). A remote deadline is anyone's
 * number, and the server's timer must hold it: Node.js turns a delay above
 * 2^31-1 ms into 1 ms and prints a TimeoutOverflowWarning, and the client's
 * deadline timer arms 1 ms past the deadline: 2^31-1 itself overflowed until
 * the client clamped its delay. One less is safe with either client.
 */
const MAX_TIME_LEFT_MS = 2 ** 31 - 2;
const FULL: Record<InFlightBound, PhoenixError> = {
  maxInFlight: new PhoenixError('ERR_PHOENIX_QUEUE_FULL', 'maxInFlight requests in flight'),
  maxInFlightBytes: new PhoenixError('ERR_PHOENIX_QUEUE_FULL', 'maxInFlightBytes of requests in flight'),
};

function checkServer(server: unknown): IpcServer {
  const candidate = server as Partial<IpcServer> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.callAsync !== 'function' ||
    typeof candidate.registeredFuncIds !== 'function' ||
    typeof candidate.getState !== 'function'
  ) {
    throw new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', 'serveOverNats: server must be an IpcServer');
  }
  if (candidate.isWorker === true) {
    throw new PhoenixError(
      'ERR_PHOENIX_INVALID_STATE',
      'serveOverNats is for the supervisor; this is a worker process (check server.isWorker)',
    );
  }
  const state = candidate.getState();
  if (state !== 'starting' && state !== 'running') {
    throw new PhoenixError(
      'ERR_PHOENIX_INVALID_STATE',
      `serveOverNats: the server is ${state}; ${state === 'created' ? 'start() it first' : 'it serves no more calls'}`,
    );
  }
  return candidate as IpcServer;
}

export class NatsBridge {
  readonly service: string;
  readonly queue: string;
  /** The subject the bridge subscribes to: `phoenix.<service>.*`. */
  readonly subject: string;
  /** The func ids it serves, ascending. */
  readonly funcIds: readonly number[];
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  readonly #server: IpcServer;
  readonly #connection: NatsConnection;
  readonly #ownsConnection: boolean;
  readonly #served: Set<number>;
  readonly #prefixLength: number;
  readonly #subscription: Subscription;
  readonly #micro: MicroServiceResponder;
  /** Replies of calls that finished while the connection was down: sent once it is back. */
  readonly #replies: HeldReplies;
  #received = 0;
  #replied = 0;
  #failed = 0;
  /** Successful replies held until the connection is back: still in flight for their callers. */
  #held = 0;
  readonly #inFlight: InFlightLimit;
  #stopped: Promise<void> | null = null;
  #onIdle: (() => void) | null = null;

  static {
    abandonBridge = (bridge) => bridge.#abandon();
  }

  /** @internal use serveOverNats */
  constructor(server: IpcServer, connection: NatsConnection, ownsConnection: boolean, options: ResolvedBridgeOptions) {
    this.#server = server;
    this.#connection = connection;
    this.#ownsConnection = ownsConnection;
    this.service = options.service;
    this.queue = options.queue;
    this.funcIds = Object.freeze([...options.funcIds]);
    this.maxInFlight = options.maxInFlight;
    this.maxInFlightBytes = options.maxInFlightBytes;
    this.#inFlight = new InFlightLimit(options.maxInFlight, options.maxInFlightBytes);
    this.#served = new Set(options.funcIds);
    this.subject = serviceWildcard(options.service);
    this.#prefixLength = this.subject.length - 1;
    this.#replies = new HeldReplies(connection);
    this.#micro = new MicroServiceResponder(connection, {
      service: this.service,
      queue: this.queue,
      funcIds: this.funcIds,
      description: `PhoenixIPC server ${server.name} served over NATS (wire protocol ${WIRE_VERSION})`,
      segment: server.name,
    });
    this.#subscription = connection.subscribe(this.subject, {
      queue: this.queue,
      callback: (error, msg) => {
        if (error !== null) return;
        try {
          this.#onRequest(msg);
        } catch (failure) {
          // Whatever a foreign message does, the bridge keeps serving (and says why it could not).
          try {
            this.#fail(msg, PhoenixError.from(failure, 'ERR_PHOENIX_INVALID_ARGUMENT'));
          } catch {
            // not even an error reply can be sent for it
          }
        }
      },
    });
  }

  /** Counters since the bridge started; a fresh object each time. */
  stats(): BridgeStats {
    return {
      received: this.#received,
      replied: this.#replied,
      failed: this.#failed,
      inFlight: this.#inFlight.count + this.#held,
    };
  }

  /**
   * Drains: stops taking requests (unsubscribes; requests NATS had already
   * routed here are still served), waits until every accepted request is
   * answered, flushes the replies, and closes the connection if the bridge
   * opened it. Idempotent; the server itself keeps running.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#drain();
    return this.#stopped;
  }

  // A bridge serveOverNats could not finish: nothing of it may go on serving on a connection that is not its own
  // (nats.js would subscribe it again after a reconnect), and nobody holds it to stop it.
  #abandon(): void {
    this.#stopped = Promise.resolve();
    this.#subscription.unsubscribe();
    this.#micro.abandon();
    this.#replies.stop();
  }

  async #drain(): Promise<void> {
    const connection = this.#connection;
    if (!connection.isClosed()) {
      await Promise.allSettled([this.#subscription.drain(), this.#micro.stop()]);
    }
    if (this.#inFlight.count > 0) await new Promise<void>((resolve) => (this.#onIdle = resolve));
    this.#replies.stop();
    if (connection.isClosed()) return;
    if (this.#ownsConnection) await connection.close();
    else await connection.flush().catch(() => undefined);
  }

  #onRequest(msg: Msg): void {
    this.#received++;
    const reply = msg.reply;
    if (!reply) {
      // A publish, not a request: there is nobody to answer.
      this.#failed++;
      return;
    }
    const token = msg.subject.slice(this.#prefixLength);
    const funcId = parseFuncIdToken(token);
    if (funcId === null) {
      this.#fail(
        msg,
        new PhoenixError(
          'ERR_PHOENIX_INVALID_ARGUMENT',
          `the func id in subject ${msg.subject} is not a decimal number from 1 to ${MAX_FUNC_ID}`,
        ),
      );
      return;
    }
    // An unregistered func id is NO_HANDLER whatever its headers say: the func id is the first thing a request names.
    if (!this.#served.has(funcId)) {
      this.#fail(
        msg,
        new PhoenixError(
          'ERR_PHOENIX_NO_HANDLER',
          `no handler for func id ${funcId} in service '${this.service}' (this bridge serves ${describeIds(this.funcIds)})`,
          { funcId },
        ),
      );
      return;
    }
    const hdrs = msg.headers;
    const problem = requestHeadersProblem(hdrs);
    if (problem !== null) {
      this.#fail(msg, new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', problem, { funcId }));
      return;
    }
    const priority = hdrs!.get(PRIORITY_HEADER) === '1' ? Priority.High : Priority.Normal;
    const deadline = Number(hdrs!.get(DEADLINE_HEADER));
    let timeLeft = 0;
    if (deadline !== 0) {
      timeLeft = deadline - Date.now();
      if (timeLeft <= 0) {
        this.#micro.record(funcId, 0, LATE);
        this.#fail(
          msg,
          new PhoenixError(
            'ERR_PHOENIX_TIMEOUT',
            `the request for func ${funcId} arrived ${-timeLeft} ms after its deadline; it was not run`,
            { funcId },
          ),
        );
        return;
      }
    }
    const size = msg.data.length;
    const full = this.#inFlight.admit(size);
    if (full !== null) {
      this.#micro.record(funcId, 0, FULL[full]);
      this.#fail(msg, new PhoenixError('ERR_PHOENIX_QUEUE_FULL', this.#fullMessage(full, size), { funcId }));
      return;
    }
    const started = performance.now();
    const call =
      timeLeft === 0
        ? this.#server.callAsync(funcId, msg.data, priority)
        : this.#server.callAsync(funcId, msg.data, { priority, timeoutMs: Math.min(timeLeft, MAX_TIME_LEFT_MS) });
    call.then(
      (answer) => this.#settle(msg, funcId, size, started, answer, null),
      (error: unknown) =>
        this.#settle(msg, funcId, size, started, null, PhoenixError.from(error, 'ERR_PHOENIX_HANDLER_FAILED')),
    );
  }

  #fullMessage(bound: InFlightBound, size: number): string {
    const inFlight = this.#inFlight;
    return bound === 'maxInFlight'
      ? `the bridge of service '${this.service}' has ${inFlight.maxCount} requests in flight (maxInFlight); not run`
      : `the bridge of service '${this.service}' has ${inFlight.count} requests of ${inFlight.bytes} bytes in flight; with this one of ${size} bytes they would pass maxInFlightBytes (${inFlight.maxBytes}); not run`;
  }

  #settle(
    msg: Msg,
    funcId: number,
    size: number,
    started: number,
    answer: Reply | null,
    error: PhoenixError | null,
  ): void {
    this.#inFlight.release(size);
    if (answer !== null) this.#respond(msg, funcId, answer);
    else this.#fail(msg, error!);
    this.#micro.record(funcId, Math.round((performance.now() - started) * 1e6), error);
    if (this.#inFlight.count === 0 && this.#onIdle !== null) {
      const resolve = this.#onIdle;
      this.#onIdle = null;
      resolve();
    }
  }

  #respond(msg: Msg, funcId: number, answer: Reply): void {
    let hdrs: MsgHdrs | undefined;
    let headerBytes = 0;
    if (answer.funcId !== funcId) {
      hdrs = headers();
      hdrs.set(FUNC_ID_HEADER, String(answer.funcId));
      headerBytes = headerBlockBytes([[FUNC_ID_HEADER, String(answer.funcId)]]);
    }
    const maxPayload = this.#connection.info?.max_payload ?? Number.POSITIVE_INFINITY;
    if (answer.payload.length + headerBytes > maxPayload) {
      this.#fail(
        msg,
        new PhoenixError(
          'ERR_PHOENIX_PAYLOAD_TOO_LARGE',
          `the reply of func ${funcId} is ${answer.payload.length} bytes, above the NATS server's max_payload of ${maxPayload} bytes`,
          { funcId },
        ),
      );
      return;
    }
    const outcome = this.#replies.respond(msg, answer.payload, hdrs, this.#heldReplyDone);
    if (outcome === 'sent') this.#replied++;
    else if (outcome === 'held') this.#held++;
    else this.#failed++; // the connection closed meanwhile, or too many replies wait for it: nobody can be told
  }

  // A held reply went out once the connection was back, or was dropped (the bridge stopped, the connection closed).
  readonly #heldReplyDone = (sent: boolean): void => {
    this.#held--;
    if (sent) this.#replied++;
    else this.#failed++;
  };

  #fail(msg: Msg, error: PhoenixError): void {
    this.#failed++;
    const entries = failureHeaders(error);
    const hdrs = headers();
    for (const [key, value] of entries) hdrs.set(key, value);
    const room = (this.#connection.info?.max_payload ?? 1024 * 1024) - headerBlockBytes(entries);
    this.#replies.respond(msg, encodeError(error, Math.max(MIN_ERROR_BODY_BYTES, room)), hdrs);
  }
}

function describeIds(ids: readonly number[]): string {
  return ids.length <= 8 ? ids.join(', ') : `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more`;
}

/**
 * Serves the handlers of `server` (a started supervisor) over NATS: requests
 * on `phoenix.<service>.<funcId>`, in queue group `queue` (default: the
 * service name), so that every host running a bridge for the service shares
 * the load. `connection` is a NatsConnection you opened (yours to close) or
 * connection options such as `{ servers: 'nats://host:4222' }` (the bridge
 * opens the connection, reconnects forever, and closes it on stop()).
 */
export async function serveOverNats(
  server: IpcServer,
  connection: NatsConnection | NatsConnectOptions,
  options: ServeOverNatsOptions,
): Promise<NatsBridge> {
  const checked = checkServer(server);
  const resolved = resolveBridgeOptions(options, () => checked.registeredFuncIds());
  const argument = checkConnectionArgument(connection, 'serveOverNats connection');
  const owned = !isNatsConnection(argument);
  const nc = owned
    ? await openConnection(argument, `phoenix-bridge ${resolved.service} ${checked.name}`, 'serveOverNats connection')
    : argument;
  let bridge: NatsBridge | undefined;
  try {
    bridge = new NatsBridge(checked, nc, owned, resolved);
    // Once this resolves, the NATS server knows the subscriptions: requests sent from now on reach the bridge.
    await nc.flush();
    return bridge;
  } catch (error) {
    if (bridge !== undefined) abandonBridge(bridge);
    if (owned) await nc.close().catch(() => undefined);
    throw PhoenixError.from(error, 'ERR_PHOENIX_SERVER_GONE');
  }
}
