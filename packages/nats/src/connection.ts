/**
 * The NATS connection of a bridge or caller: one the user passes in (theirs
 * to close), or one we open from connection options (ours to close).
 */

import { errors, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { PhoenixError } from '@phoenix-ipc/client';
import { describeValue } from '@phoenix-ipc/shm-layout';
import { connectClosingOnFailure } from './closing-transport.js';

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

/** Our default for reconnectTimeWait: a restarted NATS server is found again within about half a second. */
const RECONNECT_TIME_WAIT_MS = 500;

/** The longest delay a Node.js timer holds: nats.js arms timers with these options, and a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** nats.js connection options whose type we can check; others (and those left undefined) go to nats.js as they are. */
const STRING_OPTIONS = ['user', 'pass', 'token', 'name'] as const;
const BOOLEAN_OPTIONS = [
  'noEcho',
  'reconnect',
  'waitOnFirstConnect',
  'verbose',
  'pedantic',
  'ignoreClusterUpdates',
  'noRandomize',
  'debug',
  'ignoreAuthErrorAbort',
  'noAsyncTraces',
  'resolve',
] as const;
/** Milliseconds (0: nats.js's default, for timeout and pingInterval). */
const DELAY_OPTIONS = [
  'timeout',
  'pingInterval',
  'reconnectTimeWait',
  'reconnectJitter',
  'reconnectJitterTLS',
] as const;
const FUNCTION_OPTIONS = ['reconnectDelayHandler', 'reconnectToServer'] as const;

/**
 * A NATS subject token as an inbox prefix may use: no whitespace or control
 * character (the protocol splits on them), no '.' (the separator), no '*' or
 * '>' (wildcards: replies could not be published to such a subject).
 */
const PREFIX_TOKEN = /^[^\s\p{Cc}.*>]+$/u;

/**
 * Returns `value` if it is a usable inbox prefix (one or more subject tokens
 * joined by '.', or '': nats.js's default), else throws
 * ERR_PHOENIX_INVALID_ARGUMENT naming `what`.
 * nats.js refuses only wildcard tokens: 'a b' made subscribe() throw its own
 * error, and 'x.' (an empty token) made every reply subject invalid, so every
 * call timed out.
 */
export function checkInboxPrefix(value: unknown, what: string): string {
  if (value === '') return value;
  if (
    typeof value !== 'string' ||
    value.length > 1024 ||
    !value.split('.').every((token) => PREFIX_TOKEN.test(token))
  ) {
    throw invalid(
      `${what}: inboxPrefix must be NATS subject tokens joined by '.' (such as 'accounts.imaging.inbox': no empty token, no whitespace, '*' or '>'), got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * Checks the types of the nats.js options we can name, so that a bad one is
 * ERR_PHOENIX_INVALID_ARGUMENT at once: nats.js takes them as they come, and
 * `user: 5` or `name: {}` made the server drop the connection (a
 * CONNECT_TIMEOUT 20 s later), `timeout: -5` a CONNECT_TIMEOUT at once.
 */
function checkKnownOptions(options: Record<string, unknown>, what: string): void {
  const bad = (name: string, expected: string): PhoenixError =>
    invalid(`${what}: option ${name} must be ${expected}, got ${describeValue(options[name])}`);
  for (const name of STRING_OPTIONS) {
    if (options[name] !== undefined && typeof options[name] !== 'string') throw bad(name, 'a string');
  }
  for (const name of BOOLEAN_OPTIONS) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw bad(name, 'true or false');
  }
  for (const name of DELAY_OPTIONS) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'number' || !(value >= 0 && value <= MAX_TIMER_MS))) {
      throw bad(name, `a number of milliseconds from 0 to ${MAX_TIMER_MS}`);
    }
  }
  for (const name of FUNCTION_OPTIONS) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw bad(name, 'a function');
  }
  const { maxPingOut, maxReconnectAttempts, reconnectTimeWait, reconnectJitter, reconnectJitterTLS } = options;
  if (maxPingOut !== undefined && !isIntegerIn(maxPingOut, 0, MAX_TIMER_MS)) {
    throw bad('maxPingOut', `an integer from 0 to ${MAX_TIMER_MS}`);
  }
  if (maxReconnectAttempts !== undefined && !isIntegerIn(maxReconnectAttempts, -1, MAX_TIMER_MS)) {
    throw bad('maxReconnectAttempts', `an integer from 0 to ${MAX_TIMER_MS}, or -1 (forever)`);
  }
  // nats.js waits reconnectTimeWait plus up to the jitter before each attempt, in one timer.
  const wait = (reconnectTimeWait as number | undefined) ?? RECONNECT_TIME_WAIT_MS;
  const jitter = Math.max(
    (reconnectJitter as number | undefined) ?? 0,
    (reconnectJitterTLS as number | undefined) ?? 0,
  );
  if (wait + jitter > MAX_TIMER_MS) {
    throw invalid(
      `${what}: options reconnectTimeWait + reconnectJitter (or reconnectJitterTLS) must be at most ${MAX_TIMER_MS} ms, got ${wait} + ${jitter}`,
    );
  }
  const { authenticator, tls, inboxPrefix } = options;
  if (
    authenticator !== undefined &&
    typeof authenticator !== 'function' &&
    !(Array.isArray(authenticator) && authenticator.every((entry) => typeof entry === 'function'))
  ) {
    // nats.js silently ignores an authenticator of any other type: the connection would go unauthenticated.
    throw bad('authenticator', 'a function or an array of functions');
  }
  if (tls !== undefined && tls !== null && (typeof tls !== 'object' || Array.isArray(tls))) {
    throw bad('tls', 'an object of TLS options, or null');
  }
  if (inboxPrefix !== undefined) checkInboxPrefix(inboxPrefix, what);
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
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
  checkKnownOptions(options as Record<string, unknown>, what);
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
    return await connectClosingOnFailure({
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
      ...checked,
    });
  } catch (error) {
    throw connectFailure(error, checked.servers);
  }
}

/** Checks the connection argument (a NatsConnection or connect options) without connecting. */
export function checkConnectionArgument(value: unknown, what: string): NatsConnection | NatsConnectOptions {
  if (isNatsConnection(value)) {
    checkConnectionOpen(value, what);
    return value;
  }
  return checkConnectOptions(value, what);
}

/** Throws ERR_PHOENIX_SERVER_GONE for a connection that is closed or draining: it can take no new subscription. */
export function checkConnectionOpen(connection: NatsConnection, what: string): void {
  if (connection.isClosed()) throw new PhoenixError('ERR_PHOENIX_SERVER_GONE', `${what}: the NatsConnection is closed`);
  if ((connection as { isDraining?: () => boolean }).isDraining?.() === true)
    throw new PhoenixError('ERR_PHOENIX_SERVER_GONE', `${what}: the NatsConnection is draining`);
}
