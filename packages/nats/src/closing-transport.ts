import {
  errors,
  hasWsProtocol,
  type NatsConnection,
  NatsConnectionImpl,
  setTransportFactory,
} from '@nats-io/transport-node';
import { NodeTransport, nodeResolveHost } from '@nats-io/transport-node/lib/node_transport.js';
import type { NatsConnectOptions } from './connection.js';

/**
 * nats.js's Node transport, except that a connection attempt it gives up on
 * destroys its socket. transport-node 3.x leaves it open when the server has
 * accepted the socket but never spoken (a frozen or overloaded server): its
 * close() ignores a transport that never connected. The open socket kept the
 * process alive after ERR_PHOENIX_CONNECT_TIMEOUT, and, had the server woken
 * up, would have left it a connection nothing can close.
 */
class ClosingNodeTransport extends NodeTransport {
  override close(err?: Error): Promise<void> {
    if (!this.connected && this.socket !== undefined && !this.socket.destroyed) this.socket.destroy();
    return super.close(err);
  }
}

/**
 * connect() of @nats-io/transport-node with the transport above. The
 * transport factory is process-wide in nats.js: it is set before each connect
 * (as connect() itself does), and a connection's reconnects use whichever was
 * set last.
 */
export function connectClosingOnFailure(options: NatsConnectOptions): Promise<NatsConnection> {
  if (hasWsProtocol(options)) {
    return Promise.reject(
      errors.InvalidArgumentError.format(
        'servers',
        "node client doesn't support websockets, use the 'wsconnect' function instead",
      ),
    );
  }
  setTransportFactory({ factory: () => new ClosingNodeTransport(), dnsResolveFn: nodeResolveHost });
  return NatsConnectionImpl.connect(options);
}
