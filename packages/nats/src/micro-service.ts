/**
 * Makes a bridge a NATS micro service (ADR-32, "io.nats.micro.v1"), so that
 * standard tooling (`nats micro list|info|stats`) lists the service, its
 * endpoints (one per func id) and their stats. It answers
 * `$SRV.{PING,INFO,STATS}`, `...<service>` and `...<service>.<id>`.
 *
 * Written here rather than taken from @nats-io/services: that package has no
 * 3.x release, only a pre-release pinned to a pre-release of the NATS core.
 */
import { hostname } from 'node:os';
import { type Msg, type NatsConnection, nuid, type Subscription } from '@nats-io/transport-node';
import type { PhoenixError } from '@phoenix-ipc/client';
import { requestSubject, WIRE_VERSION } from './wire.js';

export interface MicroServiceConfig {
  service: string;
  queue: string;
  funcIds: readonly number[];
  description: string;
  segment: string;
}

interface EndpointCounters {
  requests: number;
  errors: number;
  lastError: string;
  processingNs: number;
}

const VERBS = ['PING', 'INFO', 'STATS'] as const;
type Verb = (typeof VERBS)[number];

export class MicroServiceResponder {
  /** This instance's id (ADR-32: unique per service instance). */
  readonly id = nuid.next();
  readonly #config: MicroServiceConfig;
  readonly #counters = new Map<number, EndpointCounters>();
  readonly #subscriptions: Subscription[] = [];
  readonly #started = new Date().toISOString();
  readonly #metadata: Record<string, string>;

  constructor(connection: NatsConnection, config: MicroServiceConfig) {
    this.#config = config;
    this.#metadata = {
      'phoenix.wire': WIRE_VERSION,
      'phoenix.segment': config.segment,
      'phoenix.host': hostname(),
      'phoenix.pid': String(process.pid),
    };
    for (const funcId of config.funcIds)
      this.#counters.set(funcId, { requests: 0, errors: 0, lastError: '', processingNs: 0 });
    for (const verb of VERBS) {
      for (const subject of [
        `$SRV.${verb}`,
        `$SRV.${verb}.${config.service}`,
        `$SRV.${verb}.${config.service}.${this.id}`,
      ]) {
        const callback = (error: Error | null, msg: Msg) => {
          if (error === null) this.#answer(verb, msg);
        };
        this.#subscriptions.push(connection.subscribe(subject, { callback }));
      }
    }
  }

  /** Counts one forwarded request of `funcId` that took `ns` nanoseconds. */
  record(funcId: number, ns: number, error: PhoenixError | null): void {
    const counters = this.#counters.get(funcId);
    if (counters === undefined) return;
    counters.requests++;
    counters.processingNs += ns;
    if (error !== null) {
      counters.errors++;
      counters.lastError = `${error.code}: ${error.message}`;
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#subscriptions.map((subscription) => subscription.drain()));
  }

  /** Stops answering at once, without waiting for the NATS server (which may be out of reach). */
  abandon(): void {
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
  }

  #base(type: string): Record<string, unknown> {
    return {
      type: `io.nats.micro.v1.${type}`,
      name: this.#config.service,
      id: this.id,
      version: `${WIRE_VERSION}.0.0`,
      metadata: this.#metadata,
    };
  }

  #endpoint(funcId: number): Record<string, unknown> {
    return {
      name: String(funcId),
      subject: requestSubject(this.#config.service, funcId),
      queue_group: this.#config.queue,
      metadata: { 'phoenix.funcId': String(funcId) },
    };
  }

  #answer(verb: Verb, msg: Msg): void {
    let document: Record<string, unknown>;
    if (verb === 'PING') document = this.#base('ping_response');
    else if (verb === 'INFO') {
      document = {
        ...this.#base('info_response'),
        description: this.#config.description,
        endpoints: this.#config.funcIds.map((funcId) => this.#endpoint(funcId)),
      };
    } else {
      document = {
        ...this.#base('stats_response'),
        started: this.#started,
        endpoints: this.#config.funcIds.map((funcId) => {
          const counters = this.#counters.get(funcId)!;
          return {
            ...this.#endpoint(funcId),
            num_requests: counters.requests,
            num_errors: counters.errors,
            last_error: counters.lastError,
            processing_time: counters.processingNs,
            average_processing_time:
              counters.requests === 0 ? 0 : Math.trunc(counters.processingNs / counters.requests),
          };
        }),
      };
    }
    try {
      msg.respond(JSON.stringify(document));
    } catch {
      // the connection closed meanwhile
    }
  }
}
