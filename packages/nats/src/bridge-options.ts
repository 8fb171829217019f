import { PhoenixError } from '@phoenix-ipc/client';
import { checkFuncId } from '@phoenix-ipc/client/internal';
import { describeValue } from '@phoenix-ipc/shm-layout';
import { checkToken } from './wire.js';

/** Options of serveOverNats. */
export interface ServeOverNatsOptions {
  /** The service name: requests arrive on `phoenix.<service>.<funcId>`. A NATS subject token. */
  service: string;
  /** The NATS queue group the bridges of one service share (default: the service name). */
  queue?: string;
  /** The func ids to serve (default: every func id registered in the supervisor process). */
  funcIds?: readonly number[];
  /** Requests forwarded and not yet answered, at most; beyond, ERR_PHOENIX_QUEUE_FULL at once (default 1024). */
  maxInFlight?: number;
  /**
   * Payload bytes of the requests in flight, at most; a request that would
   * pass it gets ERR_PHOENIX_QUEUE_FULL at once, unless nothing else is in
   * flight (default 64 MiB).
   */
  maxInFlightBytes?: number;
}

export interface ResolvedBridgeOptions {
  service: string;
  queue: string;
  funcIds: number[];
  maxInFlight: number;
  maxInFlightBytes: number;
}

export const DEFAULT_MAX_IN_FLIGHT = 1024;
/** As much as a caller may queue while its connection is down (unsent-calls.ts). */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

const KNOWN = new Set(['service', 'queue', 'funcIds', 'maxInFlight', 'maxInFlightBytes']);

/** Checks every option; `registered` supplies the default func ids. */
export function resolveBridgeOptions(options: unknown, registered: () => number[]): ResolvedBridgeOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid("serveOverNats options must be an object such as { service: 'imaging' }");
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw invalid(`serveOverNats: unknown option ${JSON.stringify(key)} (known: ${[...KNOWN].join(', ')})`);
    }
  }
  const { service, queue, funcIds, maxInFlight, maxInFlightBytes } = options as Partial<ServeOverNatsOptions>;
  const checkedService = checkToken(service, 'option service');
  const checkedQueue = queue === undefined ? checkedService : checkToken(queue, 'option queue');
  let ids: number[];
  if (funcIds === undefined) {
    ids = registered();
    if (ids.length === 0) {
      throw invalid(
        'serveOverNats: the server has no handler registered in this process; register the handlers in the supervisor too (cluster-style) or pass funcIds',
      );
    }
  } else {
    if (!Array.isArray(funcIds) || funcIds.length === 0) {
      throw invalid('option funcIds must be a non-empty array of func ids (1001..4294967295)');
    }
    ids = funcIds.map((id) => {
      try {
        return checkFuncId(id);
      } catch (error) {
        throw invalid(`option funcIds: ${(error as Error).message}`);
      }
    });
  }
  let limit = DEFAULT_MAX_IN_FLIGHT;
  if (maxInFlight !== undefined) {
    if (typeof maxInFlight !== 'number' || !Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 2 ** 20) {
      throw invalid(`option maxInFlight must be an integer from 1 to ${2 ** 20}, got ${describeValue(maxInFlight)}`);
    }
    limit = maxInFlight;
  }
  let byteLimit = DEFAULT_MAX_IN_FLIGHT_BYTES;
  if (maxInFlightBytes !== undefined) {
    if (typeof maxInFlightBytes !== 'number' || !Number.isSafeInteger(maxInFlightBytes) || maxInFlightBytes < 1) {
      throw invalid(
        `option maxInFlightBytes must be an integer from 1 to ${Number.MAX_SAFE_INTEGER} (bytes), got ${describeValue(maxInFlightBytes)}`,
      );
    }
    byteLimit = maxInFlightBytes;
  }
  return {
    service: checkedService,
    queue: checkedQueue,
    funcIds: [...new Set(ids)].sort((a, b) => a - b),
    maxInFlight: limit,
    maxInFlightBytes: byteLimit,
  };
}
