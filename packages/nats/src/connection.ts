/**
 * The NATS connection of a bridge or caller: one the user passes in (theirs
 * to close), or one we open from connection options (ours to close).
 */

import { connect, errors, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import { describeValue } from '@phoenix-ipc/shm-layout';

/** Options for `connect()` of @nats-io/transport-node; `servers` is required. */
export type NatsConnectOptions = NodeConnectionOptions & { servers: string | string[] };

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

/** Looks like a NatsConnection (from any copy of the NATS client). */
export function isNatsConnection(value: unknown): value is NatsConnection {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return ['publish', 'subscribe', 'closed', 'isClosed', 'close', 'flush'].every(
    (method) => typeof candidate[method] === 'function',
  );
}

function checkConnectOptions(options: unknown, what: string): NatsConnectOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid(`${what} must be a NatsConnection or connection options such as { servers: 'nats://host:4222' }`);
  }
  const servers = (options as { servers?: unknown }).servers;
  const valid =
    (typeof servers === 'string' && servers.trim() !== '') ||
    (Array.isArray(servers) &&
      servers.length > 0 &&
      servers.every((server) => typeof server === 'string' && server.trim() !== ''));
  if (!valid) {
    throw invalid(
      `${what}: servers must be a NATS server URL or a non-empty list of them (e.g. 'nats://127.0.0.1:4222'), got ${describeValue(servers)}`,
    );
  }
  return options as NatsConnectOptions;
}

/** The PhoenixError for a failed connect, keeping the NATS client's error as the cause. */
function connectFailure(error: unknown, servers: string | string[]): PhoenixError {
  const where = Array.isArray(servers) ? servers.join(', ') : servers;
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof errors.TimeoutError) {
    return new PhoenixError('ERR_PHOENIX_CONNECT_TIMEOUT', `no NATS server at ${where} answered in time`, {
      cause: error,
    });
  }
  if (error instanceof errors.AuthorizationError || error instanceof errors.UserAuthenticationExpiredError) {
    return new PhoenixError('ERR_PHOENIX_PERMISSION', `the NATS server at ${where} refused us: ${reason}`, {
      cause: error,
    });
  }
  if (error instanceof TypeError || error instanceof errors.InvalidArgumentError) {
    return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', `bad NATS connection options (${where}): ${reason}`, {
      cause: error,
    });
  }
  return new PhoenixError('ERR_PHOENIX_CONNECT_REFUSED', `cannot connect to NATS at ${where}: ${reason}`, {
    cause: error,
  });
}

/**
 * Opens a connection from `options`. Unless the options say otherwise, it
 * reconnects forever (a NATS server restart must not end a bridge or a
 * caller) and names itself `name` (in the server's connection list).
 */
export async function openConnection(options: unknown, name: string, what: string): Promise<NatsConnection> {
  const checked = checkConnectOptions(options, what);
  try {
    return await connect({ name, maxReconnectAttempts: -1, reconnectTimeWait: 500, ...checked });
  } catch (error) {
    throw connectFailure(error, checked.servers);
  }
}

/** Checks the connection argument (a NatsConnection or connect options) without connecting. */
export function checkConnectionArgument(value: unknown, what: string): NatsConnection | NatsConnectOptions {
  if (isNatsConnection(value)) {
    if (value.isClosed()) throw new PhoenixError('ERR_PHOENIX_SERVER_GONE', `${what}: the NatsConnection is closed`);
    return value;
  }
  return checkConnectOptions(value, what);
}
