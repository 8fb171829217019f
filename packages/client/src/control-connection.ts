import { closeFd, FdWatcher, receiveMessage, sendMessage } from '@phoenix-ipc/native-shm';
import { type ControlMessage, decodeControlMessage, encodeControlMessage } from '@phoenix-ipc/shm-layout';

export interface ControlHandlers {
  /** `truncated`: the kernel cut the message short, or dropped fds this process had no room for (MSG_CTRUNC). */
  onMessage(message: ControlMessage, fds: number[], truncated: boolean): void;
  /** The peer closed the connection (or sent something that is not a control message). */
  onClose(): void;
}

/**
 * One seqpacket control connection, watched on the event loop. It never keeps
 * the process alive by itself (unref'd): a connected but idle client lets
 * its process exit.
 */
export class ControlConnection {
  readonly fd: number;
  readonly #handlers: ControlHandlers;
  readonly #watcher: FdWatcher;
  readonly #ownsFd: boolean;
  #closed = false;

  /**
   * `ownsFd` false: the fd stays open when the peer closes or misbehaves;
   * its owner closes it (the handshake's, whose caller keeps the fd).
   * When the constructor throws, nothing watches the fd and the caller closes it.
   */
  constructor(fd: number, handlers: ControlHandlers, options: { ref?: boolean; ownsFd?: boolean } = {}) {
    this.fd = fd;
    this.#handlers = handlers;
    this.#ownsFd = options.ownsFd ?? true;
    this.#watcher = new FdWatcher(fd, () => this.readAvailable(), { drain: false, ref: options.ref ?? false });
    try {
      this.#watcher.start();
    } catch (error) {
      // Never started, it watches nothing; unclosed, its libuv handle would stay for the life of the process.
      this.#watcher.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a message (with fds); false if the connection is closed or its buffer is full. */
  send(message: ControlMessage, fds: readonly number[] = []): boolean {
    if (this.#closed) return false;
    try {
      return sendMessage(this.fd, encodeControlMessage(message), fds);
    } catch {
      this.#peerClosed();
      return false;
    }
  }

  /** Handles every message waiting on the socket; safe to call synchronously (callSync). */
  readAvailable(): void {
    while (!this.#closed) {
      let received: ReturnType<typeof receiveMessage>;
      try {
        received = receiveMessage(this.fd);
      } catch {
        this.#peerClosed();
        return;
      }
      if (received === null) return;
      if (received.eof) {
        this.#peerClosed();
        return;
      }
      const message = decodeControlMessage(received.data);
      if (message === null) {
        for (const fd of received.fds) closeFd(fd);
        this.#peerClosed();
        return;
      }
      this.#handlers.onMessage(message, received.fds, received.truncated);
    }
  }

  #peerClosed(): void {
    if (this.#closed) return;
    if (this.#ownsFd) this.close();
    else this.detach();
    this.#handlers.onClose();
  }

  /** Stops watching without closing the fd (it is handed to another owner). */
  detach(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
  }

  /** Closes our end; the peer sees end-of-file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    try {
      closeFd(this.fd);
    } catch {
      // already gone
    }
  }
}
