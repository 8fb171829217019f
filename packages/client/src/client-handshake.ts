// The client's side of the admission handshake: hello on the supervisor's
// control socket, then welcome (a slot and its doorbells), busy, refused or
// shutdown. What is worth another attempt before the connect deadline is a
// RetryLater, not an error.
import { closeFd } from '@phoenix-ipc/native-shm';
import {
  CONTROL_PROTOCOL_VERSION,
  type ControlMessage,
  PhoenixError,
  type PhoenixErrorCode,
} from '@phoenix-ipc/shm-layout';
import { ControlConnection } from './control-connection.js';

/** A temporary condition worth retrying until the connect deadline. */
export class RetryLater {
  constructor(
    readonly reason: string,
    readonly code: PhoenixErrorCode = 'ERR_PHOENIX_CONNECT_TIMEOUT',
    /** Only the deadline cut the attempt short: it does not replace what an earlier attempt learnt. */
    readonly inconclusive = false,
  ) {}
}

/** A welcome, with `truncated` set when the kernel could not hand over all of its fds (the fd table was full). */
export interface Welcome {
  message: ControlMessage & { t: 'welcome' };
  fds: number[];
  truncated: boolean;
}

export type HandshakeResult = Welcome | RetryLater;

/** Sends hello on the control socket `fd` and waits for welcome/busy/refused (or the deadline). */
export function handshake(fd: number, deadline: number): Promise<HandshakeResult> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (value: HandshakeResult | PhoenixError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      probe.close();
      if (value instanceof PhoenixError) reject(value);
      else resolve(value);
    };
    const probe = new HandshakeWatcher(fd, {
      onMessage: (message, fds, truncated) => {
        if (message.t === 'welcome') finish({ message, fds, truncated });
        else {
          for (const extra of fds) closeFd(extra);
          if (message.t === 'busy')
            finish(new RetryLater(`all ${message.maxClients} client slots are taken`, 'ERR_PHOENIX_BUSY'));
          else if (message.t === 'refused') finish(new PhoenixError(message.code, message.message));
          else if (message.t === 'shutdown') finish(new RetryLater('the supervisor is shutting down'));
        }
      },
      onClose: () => finish(new RetryLater('the supervisor closed the connection')),
    });
    const timer = setTimeout(
      () => finish(new RetryLater('the supervisor did not answer', 'ERR_PHOENIX_CONNECT_TIMEOUT', true)),
      Math.max(1, deadline - performance.now()),
    );
    if (!probe.send({ t: 'hello', v: CONTROL_PROTOCOL_VERSION, pid: process.pid })) {
      finish(new RetryLater('could not send hello'));
    }
  });
}

/** The control connection during the handshake: the fd is handed on to the real connection afterwards. */
class HandshakeWatcher {
  readonly #connection: ControlConnection;
  #detached = false;

  constructor(fd: number, handlers: ConstructorParameters<typeof ControlConnection>[1]) {
    // The fd is the caller's: it closes it whatever the outcome (or hands it on after a welcome).
    this.#connection = new ControlConnection(fd, handlers, { ref: true, ownsFd: false });
  }

  send(message: ControlMessage): boolean {
    return this.#connection.send(message);
  }

  close(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#connection.detach();
  }
}
