/**
 * Callbacks for "this NatsConnection closed", one closed() reaction per
 * connection. A reaction on connection.closed() cannot be taken back: each
 * caller that attached its own stayed reachable from the connection's promise
 * after close(), until the connection itself closed (an application that
 * makes and closes callers on one long-lived connection grew without bound).
 * Here the connection's single reaction calls whoever is registered now, and
 * a caller that closes leaves the set.
 */
import type { NatsConnection } from '@nats-io/transport-node';

/** Weak on the connection: a connection nobody holds any more takes its callbacks with it. */
const registry = new WeakMap<NatsConnection, Set<() => void>>();

/**
 * Calls `callback` once when `connection` closes (or its closed() promise
 * rejects). Returns the function that detaches it; calling that after the
 * callback ran, or twice, does nothing. Give each registration its own
 * function: the set holds a function once.
 */
export function onConnectionClosed(connection: NatsConnection, callback: () => void): () => void {
  const callbacks = registry.get(connection) ?? watch(connection);
  callbacks.add(callback);
  return () => {
    callbacks.delete(callback);
  };
}

/**
 * The one reaction on `connection`'s close. A function of its own: a closure
 * made beside `callback` in onConnectionClosed would share its scope and keep
 * the first callback (and the caller behind it) alive for the connection's
 * lifetime.
 */
function watch(connection: NatsConnection): Set<() => void> {
  const callbacks = new Set<() => void>();
  registry.set(connection, callbacks);
  const notify = () => {
    registry.delete(connection);
    // A snapshot: a callback may detach others as it runs.
    for (const callback of [...callbacks]) {
      callbacks.delete(callback);
      callback();
    }
  };
  connection.closed().then(notify, notify);
  return callbacks;
}
