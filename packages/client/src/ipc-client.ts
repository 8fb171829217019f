import { constants } from 'node:os';
import {
  closeFd,
  connectSeqpacket,
  isDoorbellFd,
  isSameProcessAlive,
  SharedSegment,
  segmentNameProblem,
} from '@phoenix-ipc/native-shm';
import {
  type ControlMessage,
  controlSocketName,
  PhoenixError,
  PhoenixShmLayout,
  SupervisorState,
} from '@phoenix-ipc/shm-layout';
import { checkTimeout } from './call-options.js';
import { Caller } from './caller.js';
import { CallerEngine } from './caller-engine.js';
import { type HandshakeResult, handshake, RetryLater, type Welcome } from './client-handshake.js';
import { type IpcClientOptions, type ResolvedClientOptions, resolveClientOptions } from './client-options.js';
import { ControlConnection } from './control-connection.js';
import { retainReplyMemory } from './retain-reply-memory.js';

export type ClientState = 'disconnected' | 'connecting' | 'connected' | 'server-gone';
export type { IpcClientOptions } from './client-options.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const RETRY_MS = 20;
const BUSY_RETRY_MS = 50;

function invalid(message: string): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_INVALID_ARGUMENT', message);
}

const { EMFILE } = constants.errno;

function cancelledByDisconnect(): PhoenixError {
  return new PhoenixError('ERR_PHOENIX_NOT_CONNECTED', 'connect() was cancelled by disconnect()');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Connection {
  segment: SharedSegment;
  layout: PhoenixShmLayout;
  control: ControlConnection;
  engine: CallerEngine;
  fds: number[];
}

/**
 * A client process's connection to a PhoenixIPC supervisor, found by segment
 * name. After connect() it owns a slot in the segment and talks to workers
 * directly through its own rings; the supervisor only admits it, answers for
 * crashed workers and tells it when the server goes away.
 *
 * Events: 'state' (new ClientState), 'server-gone'.
 */
export class IpcClient extends Caller {
  readonly name: string;
  readonly #options: ResolvedClientOptions;
  #state: ClientState = 'disconnected';
  #connection: Connection | null = null;
  #connecting: Promise<void> | null = null;
  #attempt = 0;

  private constructor(name: string, options: ResolvedClientOptions) {
    super(options.defaultTimeoutMs, options.onQueueFull);
    this.name = name;
    this.#options = options;
  }

  /** Throws ERR_PHOENIX_INVALID_ARGUMENT on a bad name or option. Does not connect. */
  static create(name: string, options: IpcClientOptions = {}): IpcClient {
    const problem = segmentNameProblem(name);
    if (problem !== null) throw invalid(problem);
    return new IpcClient(name, resolveClientOptions(options));
  }

  getState(): ClientState {
    return this.#state;
  }

  isConnected(): boolean {
    return this.#state === 'connected';
  }

  /** The slot this client holds while connected, else -1. */
  get slot(): number {
    return this.#connection?.engine.slot ?? -1;
  }

  /**
   * Finds the segment, checks it, and takes a connection slot. Rejects
   * ERR_PHOENIX_BAD_SEGMENT at once for a file that is not a PhoenixIPC
   * segment; waits (up to `timeoutMs`) for one still being created, a
   * supervisor still starting, or a free slot; then ERR_PHOENIX_CONNECT_TIMEOUT
   * (or ERR_PHOENIX_BUSY when slots stayed full).
   */
  connect(timeoutMs: number = DEFAULT_CONNECT_TIMEOUT_MS): Promise<void> {
    if (this.#state === 'connected') return Promise.resolve();
    if (this.#connecting !== null) return this.#connecting;
    let timeout: number;
    try {
      timeout = checkTimeout(timeoutMs, 'timeoutMs');
    } catch (error) {
      return Promise.reject(error);
    }
    this.#setState('connecting');
    const attempt = ++this.#attempt;
    this.#connecting = this.#connectLoop(timeout === 0 ? Number.POSITIVE_INFINITY : timeout, attempt).then(
      (connection) => {
        this.#connecting = null;
        if (this.#attempt !== attempt) {
          // disconnect() came while the handshake ran: the slot this attempt won goes back at once.
          connection.control.send({ t: 'bye' });
          this.#teardown(connection, cancelledByDisconnect());
          throw cancelledByDisconnect();
        }
        this.#connection = connection;
        this.#setState('connected');
      },
      (error: unknown) => {
        this.#connecting = null;
        if (this.#attempt === attempt) this.#setState('disconnected');
        throw error;
      },
    );
    return this.#connecting;
  }

  async #connectLoop(timeoutMs: number, attempt: number): Promise<Connection> {
    const deadline = performance.now() + timeoutMs;
    let last = new RetryLater(`no segment named ${this.name}`);
    for (;;) {
      if (attempt !== this.#attempt) throw cancelledByDisconnect();
      const outcome = await this.#tryConnect(deadline);
      if (!(outcome instanceof RetryLater)) return outcome;
      if (!outcome.inconclusive || last.code !== 'ERR_PHOENIX_BUSY') last = outcome;
      const left = deadline - performance.now();
      if (left <= 0) {
        const code = last.code;
        throw new PhoenixError(
          code,
          code === 'ERR_PHOENIX_BUSY'
            ? `every client slot of ${this.name} stayed taken for ${timeoutMs} ms`
            : `could not connect to ${this.name} within ${timeoutMs} ms: ${last.reason}`,
        );
      }
      await sleep(Math.min(last.code === 'ERR_PHOENIX_BUSY' ? BUSY_RETRY_MS : RETRY_MS, left));
    }
  }

  // One attempt: a Connection, a RetryLater, or a thrown error that ends connect().
  async #tryConnect(deadline: number): Promise<Connection | RetryLater> {
    let segment: SharedSegment;
    try {
      segment = SharedSegment.open(this.name);
    } catch (error) {
      const code = (error as PhoenixError).code;
      if (code === 'ERR_PHOENIX_SEGMENT_NOT_FOUND') return new RetryLater(`no segment named ${this.name}`);
      throw PhoenixError.from(error);
    }
    let keep = false;
    try {
      const probe = PhoenixShmLayout.probe(segment.buffer);
      if (probe.kind === 'foreign') {
        throw new PhoenixError('ERR_PHOENIX_BAD_SEGMENT', `${this.name} is not a PhoenixIPC segment: ${probe.reason}`);
      }
      if (probe.kind === 'not-ready') return new RetryLater(probe.reason);
      const layout = PhoenixShmLayout.attach(segment.buffer);
      if (layout.supervisorState !== SupervisorState.Running) return new RetryLater('the supervisor is not running');
      if (!isSameProcessAlive(layout.supervisorPid, layout.supervisorStartTime)) {
        return new RetryLater(`the segment's supervisor (pid ${layout.supervisorPid}) is dead`);
      }
      let fd: number;
      try {
        fd = connectSeqpacket(controlSocketName(this.name, layout.supervisorPid, layout.epoch, layout.controlNonce));
      } catch {
        return new RetryLater('the supervisor does not accept connections');
      }
      let welcome: HandshakeResult;
      try {
        welcome = await handshake(fd, deadline);
      } catch (error) {
        closeFd(fd);
        throw error;
      }
      if (welcome instanceof RetryLater) {
        closeFd(fd);
        return welcome;
      }
      let connection: Connection;
      try {
        connection = this.#open(segment, layout, fd, welcome);
      } catch (error) {
        // Closing the control socket is what hands the slot we were given back to the supervisor.
        closeFd(fd);
        throw error;
      }
      keep = true;
      return connection;
    } finally {
      if (!keep) segment.close();
    }
  }

  #open(segment: SharedSegment, layout: PhoenixShmLayout, fd: number, received: Welcome): Connection {
    const { message: welcome, fds } = received;
    let connection: Connection | null = null;
    let control: ControlConnection | null = null;
    try {
      checkWelcome(layout, received); // a refused welcome's fds are closed below
      const [slotDoorbell, ...workerDoorbells] = fds as [number, ...number[]];
      const watched = new ControlConnection(fd, {
        onMessage: (message, extra) => {
          for (const unexpected of extra) closeFd(unexpected);
          if (connection !== null) this.#onControl(connection, message);
        },
        onClose: () => {
          if (connection !== null) this.#serverGone(connection, 'the supervisor closed the connection');
        },
      });
      control = watched;
      const engine = new CallerEngine({
        layout,
        slot: welcome.slot,
        doorbellFd: slotDoorbell,
        workerDoorbellFds: workerDoorbells,
        waitStrategy: this.#options.waitStrategy,
        observer: this.#options.observer,
        syncWaitFds: () => [watched.fd],
        onSyncWake: () => watched.readAvailable(),
        onCorruptChannel: (worker, error) => watched.send({ t: 'corrupt', worker, message: error.message }),
      });
      connection = { segment, layout, control: watched, engine, fds };
    } catch (error) {
      // connect() closes the control socket. A watcher left on it is armed again on whatever the process opens
      // next under that fd number: a file there makes libuv abort the process (epoll refuses files).
      control?.detach();
      for (const doorbell of fds) closeFd(doorbell);
      throw error;
    }
    retainReplyMemory(this.#options.retainFreedMemoryMb, layout.options.maxPayloadBytes);
    return connection;
  }

  #onControl(connection: Connection, message: ControlMessage): void {
    switch (message.t) {
      case 'failed':
        connection.engine.failCall(message.seqId, new PhoenixError(message.code, message.message, message.details));
        break;
      case 'worker-down':
        connection.engine.workerDown(message.worker);
        break;
      case 'shutdown':
        this.#serverGone(connection, message.reason);
        break;
      case 'channel-reset':
        connection.engine.resetChannel(message.worker, message.message);
        connection.control.send({ t: 'channel-reset-ack', worker: message.worker });
        break;
      case 'channel-ready':
        connection.engine.channelReady(message.worker);
        break;
      default:
        break;
    }
  }

  #serverGone(connection: Connection, reason: string): void {
    if (this.#connection !== connection) return;
    this.#teardown(
      connection,
      new PhoenixError(
        'ERR_PHOENIX_SERVER_GONE',
        `the PhoenixIPC server is gone (${reason}); the outcome of pending calls is unknown`,
      ),
    );
    this.#setState('server-gone');
    this.emit('server-gone', reason);
  }

  #teardown(connection: Connection, error: PhoenixError): void {
    this.#connection = null;
    connection.engine.close(error);
    connection.control.close();
    for (const fd of connection.fds) {
      try {
        closeFd(fd);
      } catch {
        // already closed
      }
    }
    connection.segment.close();
  }

  #setState(state: ClientState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }

  protected engineForCall(): CallerEngine {
    const connection = this.#connection;
    if (connection === null || this.#state !== 'connected') {
      if (this.#state === 'server-gone') {
        throw new PhoenixError('ERR_PHOENIX_SERVER_GONE', 'the PhoenixIPC server is gone; connect() again');
      }
      throw new PhoenixError('ERR_PHOENIX_NOT_CONNECTED', `the client is ${this.#state}; call connect() first`);
    }
    return connection.engine;
  }

  /**
   * Leaves the server: pending calls reject ERR_PHOENIX_NOT_CONNECTED, the
   * slot is handed back. The instance may connect() again.
   */
  async disconnect(): Promise<void> {
    this.#attempt++;
    const connection = this.#connection;
    if (connection !== null) {
      connection.control.send({ t: 'bye' });
      this.#teardown(connection, new PhoenixError('ERR_PHOENIX_NOT_CONNECTED', 'the client disconnected'));
    }
    if (this.#connecting !== null) await this.#connecting.catch(() => undefined);
    this.#setState('disconnected');
  }
}

/** Throws unless the welcome fits the segment and brought one doorbell per worker and one for the slot. */
function checkWelcome(layout: PhoenixShmLayout, { message: welcome, fds, truncated }: Welcome): void {
  const workerCount = layout.channels.length;
  if (truncated) {
    // The kernel drops the fds a full fd table cannot take and flags the message (MSG_CTRUNC).
    throw new PhoenixError(
      'ERR_PHOENIX_SYSCALL_FAILED',
      `the supervisor's welcome carried ${workerCount + 1} doorbell fds and this process could take only ` +
        `${fds.length}: it has run out of file descriptors (raise ulimit -n)`,
      { errno: EMFILE, syscall: 'recvmsg' },
    );
  }
  if (fds.length !== workerCount + 1 || welcome.slot < 1 || welcome.slot >= layout.slots.length) {
    throw new PhoenixError(
      'ERR_PHOENIX_BAD_SEGMENT',
      `the supervisor's welcome does not match the segment (slot ${welcome.slot}, ${fds.length} fds)`,
    );
  }
  const notDoorbells = fds.filter((doorbell) => !isDoorbellFd(doorbell));
  if (notDoorbells.length > 0) {
    // A doorbell is polled, drained and rung: another kind of fd fails to be watched, or could stall a ring.
    throw new PhoenixError(
      'ERR_PHOENIX_BAD_SEGMENT',
      `the supervisor's welcome carried ${notDoorbells.length} of ${fds.length} fds that are not doorbells (eventfds)`,
    );
  }
}
