/**
 * Client processes and their slots. One control connection per client on
 * the supervisor's seqpacket socket: a 'hello' is answered 'welcome' (a
 * slot, its doorbell and the workers' doorbells), 'busy' (no room) or
 * 'refused' (stopping, another user); 'bye' or the socket closing makes the
 * client's slot drain, and the slot is freed once every live worker has
 * detached from it. What a client says about the workers ('corrupt',
 * channel-reset acks) and what the supervisor tells clients (failures,
 * worker-down, shutdown) pass through here too.
 */
import { ControlConnection, clearUnrefTimer } from '@phoenix-ipc/client/internal';
import {
  acceptSeqpacket,
  closeFd,
  FdWatcher,
  listenSeqpacket,
  peerCredentials,
  processStartTime,
  signalEventFd,
} from '@phoenix-ipc/native-shm';
import {
  type ControlMessage,
  monotonicNowMs,
  type PhoenixError,
  type PhoenixShmLayout,
  SlotState,
  SUPERVISOR_SLOT,
  type WorkerChannel,
} from '@phoenix-ipc/shm-layout';
import type { ServerEvents } from './server-events.js';

/**
 * A client says hello as soon as it has connected; a connection still silent
 * after this long is not a client and gives its fd back.
 */
export const HELLO_TIMEOUT_MS = 5000;
/** Connections waiting for their hello at most; beyond it the oldest is dropped (fds are bounded). */
const MIN_AWAITING_HELLO = 64;
/** After accept() failed (out of fds, out of memory) the socket is not watched for this long. */
const ACCEPT_PAUSE_MS = 100;

/** A departed client's slot is polled quickly for the workers' acks at first, then slowly. */
const ACK_POLL_MS = 2;
const ACK_SLOW_POLL_MS = 20;
const ACK_FAST_WINDOW_MS = 2000;

interface ClientEntry {
  connection: ControlConnection;
  slot: number;
  pid: number;
  /** Channel resets waiting for this client's ack, by worker. */
  resetAcks: Map<number, () => void>;
  /** The slot generation it was admitted at. */
  generation: number;
}

export interface ClientAdmissionOptions {
  layout: PhoenixShmLayout;
  socketName: string;
  epoch: number;
  maxClients: number;
  /** Doorbells handed to each client; the supervisor closes them (the arrays may be emptied then). */
  workerFds: readonly number[];
  slotFds: readonly number[];
  /** 'clientConnected' and 'clientGone' go here. */
  events: ServerEvents;
  /** Newcomers are refused while this holds. */
  stopping: () => boolean;
  /** Slot draining gives up once this holds (the segment is gone). */
  stopped: () => boolean;
  /** Whether the worker at a global index is alive (a dead one will never ack a departed slot). */
  workerAlive: (globalIndex: number) => boolean;
  /** A client found its channel with a worker corrupt. */
  onCorruptReport: (globalIndex: number, slot: number) => void;
}

export class ClientAdmission {
  readonly #options: ClientAdmissionOptions;
  readonly #clients = new Map<number, ClientEntry>();
  readonly #draining = new Set<number>();
  /** Connections that have not said hello yet, oldest first, with the timer that drops them. */
  readonly #awaitingHello = new Map<ControlConnection, NodeJS.Timeout>();
  #listenFd = -1;
  #listenWatcher: FdWatcher | null = null;
  #acceptPause: NodeJS.Timeout | null = null;

  constructor(options: ClientAdmissionOptions) {
    this.#options = options;
  }

  /** Client processes holding a slot now. */
  get count(): number {
    return this.#clients.size;
  }

  listen(): void {
    this.#listenFd = listenSeqpacket(this.#options.socketName);
    this.#listenWatcher = new FdWatcher(this.#listenFd, () => this.#acceptAll(), { drain: false, ref: false });
    this.#listenWatcher.start();
  }

  /** No more newcomers (the socket stays open until close()). */
  stopListening(): void {
    this.#listenWatcher?.close();
    this.#listenWatcher = null;
    if (this.#acceptPause !== null) clearTimeout(this.#acceptPause);
    this.#acceptPause = null;
    for (const connection of [...this.#awaitingHello.keys()]) this.#dropSilent(connection);
  }

  close(): void {
    this.stopListening();
    if (this.#listenFd >= 0) {
      closeFd(this.#listenFd);
      this.#listenFd = -1;
    }
  }

  /** Tells every client the server is going away and drops them. */
  closeClients(reason: string): void {
    for (const client of this.#clients.values()) {
      client.connection.send({ t: 'shutdown', reason });
      client.connection.close();
    }
    this.#clients.clear();
  }

  /** What a slot's published state and generation must be (segment repair); generation undefined: any. */
  expectedSlot(slotIndex: number): { state: SlotState; generation: number | undefined } {
    if (slotIndex === SUPERVISOR_SLOT) return { state: SlotState.Active, generation: 1 };
    const client = this.#clients.get(slotIndex);
    if (client !== undefined) return { state: SlotState.Active, generation: client.generation };
    return { state: this.#draining.has(slotIndex) ? SlotState.Draining : SlotState.Free, generation: undefined };
  }

  /** Whether the slot has a caller now: the supervisor's own, or an admitted client (bound: pass it around). */
  readonly isActive = (slotIndex: number): boolean => slotIndex === SUPERVISOR_SLOT || this.#clients.has(slotIndex);

  /** Answers a client's call that will never be answered by a worker. */
  fail(slotIndex: number, seqId: number, error: PhoenixError): void {
    this.#clients.get(slotIndex)?.connection.send({
      t: 'failed',
      seqId,
      code: error.code,
      message: error.message,
      details: {
        group: error.group,
        workerIndex: error.workerIndex,
        pid: error.pid,
        signal: error.signal,
        exitCode: error.exitCode,
        reason: error.reason,
        seqId: error.seqId,
        attempt: error.attempt,
        funcId: error.funcId,
      },
    });
  }

  workerDown(globalIndex: number): void {
    for (const client of this.#clients.values()) client.connection.send({ t: 'worker-down', worker: globalIndex });
  }

  /**
   * Has the client at `slotIndex` stop using its channel with `channel` and
   * ack, then `format`s it and tells the client to take it up again. A
   * client that does not ack within `ackTimeoutMs` is disconnected (its slot
   * is formatted when freed); a free or draining slot needs nothing.
   */
  async resetChannel(
    slotIndex: number,
    channel: WorkerChannel,
    message: string,
    ackTimeoutMs: number,
    format: () => void,
  ): Promise<void> {
    const client = this.#clients.get(slotIndex);
    if (client === undefined) return;
    const worker = channel.globalIndex;
    const acked = new Promise<boolean>((resolve) => {
      // Ref'd: while the only worker's replacement waits for these acks, this may be all that keeps the process.
      const timer = setTimeout(() => resolve(false), ackTimeoutMs);
      client.resetAcks.set(worker, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    client.connection.send({ t: 'channel-reset', worker, message });
    if (!(await acked) || this.#clients.get(slotIndex) !== client) {
      client.resetAcks.delete(worker);
      if (this.#clients.get(slotIndex) === client) this.#clientGone(slotIndex);
      return;
    }
    format();
    client.connection.send({ t: 'channel-ready', worker });
  }

  #acceptAll(): void {
    for (;;) {
      let fd: number;
      try {
        fd = acceptSeqpacket(this.#listenFd);
      } catch {
        // Out of fds (or memory): the connection stays queued and the socket stays readable, so
        // watching on would spin a core. Look again shortly; silent connections time out meanwhile.
        this.#pauseAccepting();
        return;
      }
      if (fd < 0) return;
      const entry: { slot: number; pid: number } = { slot: -1, pid: 0 };
      let connection: ControlConnection;
      try {
        connection = new ControlConnection(fd, {
          onMessage: (message, fds) => {
            for (const extra of fds) closeFd(extra);
            this.#onMessage(connection, entry, message);
          },
          onClose: () => {
            this.#heard(connection);
            if (entry.slot > 0) this.#clientGone(entry.slot);
          },
        });
      } catch {
        // No memory for its watcher. Thrown on, it would leave this callback and end the
        // supervisor. Hang up instead (the client sees a hang-up before its welcome and tries
        // again) and look again shortly, as when accept() fails.
        closeFd(fd);
        this.#pauseAccepting();
        return;
      }
      this.#awaitHello(connection);
    }
  }

  #pauseAccepting(): void {
    const watcher = this.#listenWatcher;
    if (watcher === null || this.#acceptPause !== null) return;
    watcher.stop();
    this.#acceptPause = setTimeout(() => {
      this.#acceptPause = null;
      if (this.#listenWatcher === watcher) {
        watcher.start();
        this.#acceptAll();
      }
    }, ACCEPT_PAUSE_MS);
    this.#acceptPause.unref();
  }

  #awaitHello(connection: ControlConnection): void {
    const limit = Math.max(MIN_AWAITING_HELLO, this.#options.maxClients);
    if (this.#awaitingHello.size >= limit) this.#dropSilent(this.#awaitingHello.keys().next().value!);
    const timer = setTimeout(() => this.#dropSilent(connection), HELLO_TIMEOUT_MS);
    timer.unref();
    this.#awaitingHello.set(connection, timer);
  }

  /** The connection said hello or bye (or closed): it no longer waits for its hello. */
  #heard(connection: ControlConnection): void {
    const timer = this.#awaitingHello.get(connection);
    if (timer === undefined) return;
    clearUnrefTimer(timer);
    this.#awaitingHello.delete(connection);
  }

  #dropSilent(connection: ControlConnection): void {
    this.#heard(connection);
    connection.close();
  }

  #onMessage(connection: ControlConnection, entry: { slot: number; pid: number }, message: ControlMessage): void {
    if (message.t === 'bye') {
      this.#heard(connection);
      if (entry.slot > 0) this.#clientGone(entry.slot);
      connection.close();
      return;
    }
    if (entry.slot > 0) {
      const client = this.#clients.get(entry.slot);
      if (message.t === 'channel-reset-ack') {
        client?.resetAcks.get(message.worker)?.();
        client?.resetAcks.delete(message.worker);
      } else if (
        message.t === 'corrupt' &&
        Number.isInteger(message.worker) &&
        this.#options.layout.channels[message.worker] !== undefined
      ) {
        this.#options.onCorruptReport(message.worker, entry.slot);
      }
      return;
    }
    // Only a sound hello stops a newcomer's clock. Whatever else it says first is dropped, and the
    // connection still counts among those waiting for their hello: bounded, and closed when its time is up.
    if (message.t === 'hello') {
      this.#heard(connection);
      this.#admit(connection, entry);
    }
  }

  #admit(connection: ControlConnection, entry: { slot: number; pid: number }): void {
    const { layout, maxClients } = this.#options;
    if (this.#options.stopping()) {
      connection.send({ t: 'refused', code: 'ERR_PHOENIX_UNAVAILABLE', message: 'the server is stopping' });
      connection.close();
      return;
    }
    let credentials: { pid: number; uid: number };
    try {
      credentials = peerCredentials(connection.fd);
    } catch {
      connection.close();
      return;
    }
    const uid = process.getuid?.() ?? 0;
    if (credentials.uid !== uid && credentials.uid !== 0) {
      connection.send({
        t: 'refused',
        code: 'ERR_PHOENIX_PERMISSION',
        message: `uid ${credentials.uid} may not use a segment owned by uid ${uid}`,
      });
      connection.close();
      return;
    }
    // maxClients bounds the clients served at once; draining slots of departed
    // clients do not count, and spare slots stand in for them meanwhile.
    const slotIndex = layout.slots.findIndex((slot) => slot.index !== SUPERVISOR_SLOT && slot.state === SlotState.Free);
    if (slotIndex < 0 || this.#clients.size >= maxClients) {
      connection.send({ t: 'busy', maxClients });
      connection.close();
      return;
    }
    const slot = layout.getSlot(slotIndex);
    // Fresh rings for the newcomer: nobody touches a free slot's rings, and a
    // broken peer may have written over them since they were last formatted.
    for (const channel of layout.channels) layout.formatRingPair(channel, slotIndex);
    slot.pid = credentials.pid;
    slot.pidStartTime = processStartTime(credentials.pid) ?? 0;
    slot.generation = slot.generation + 1;
    slot.state = SlotState.Active;
    layout.bumpSlotEpoch();
    entry.slot = slotIndex;
    entry.pid = credentials.pid;
    this.#clients.set(slotIndex, {
      connection,
      slot: slotIndex,
      pid: credentials.pid,
      resetAcks: new Map(),
      generation: slot.generation,
    });
    // Announced before the welcome goes out: a client gone by then is announced gone right after, never before.
    this.#options.events.emit('clientConnected', { slot: slotIndex, pid: credentials.pid });
    const { workerFds, slotFds } = this.#options;
    connection.send(
      {
        t: 'welcome',
        slot: slotIndex,
        generation: slot.generation,
        epoch: this.#options.epoch,
        workers: workerFds.length,
      },
      [slotFds[slotIndex]!, ...workerFds],
    );
  }

  // A client left (bye, or its process died and the kernel closed its socket).
  // Workers detach from its slot and ack; then its rings are reformatted and
  // the slot freed. Its unanswered requests are dropped with it.
  #clientGone(slotIndex: number): void {
    const client = this.#clients.get(slotIndex);
    if (client === undefined) return;
    const { layout, workerFds, workerAlive } = this.#options;
    this.#clients.delete(slotIndex);
    client.connection.close();
    this.#options.events.emit('clientGone', { slot: slotIndex, pid: client.pid });
    const slot = layout.getSlot(slotIndex);
    const generation = slot.generation;
    slot.state = SlotState.Draining;
    layout.bumpSlotEpoch();
    this.#draining.add(slotIndex);
    for (const channel of layout.channels)
      if (workerAlive(channel.globalIndex)) signalEventFd(workerFds[channel.globalIndex]!);
    const started = monotonicNowMs();
    const check = () => {
      if (this.#options.stopped()) return;
      const pending = layout.channels.some(
        (channel) => workerAlive(channel.globalIndex) && slot.ack(channel.globalIndex) !== generation,
      );
      if (pending) {
        const wait = monotonicNowMs() - started < ACK_FAST_WINDOW_MS ? ACK_POLL_MS : ACK_SLOW_POLL_MS;
        setTimeout(check, wait).unref();
        return;
      }
      this.#freeSlot(slotIndex);
    };
    check();
  }

  #freeSlot(slotIndex: number): void {
    const layout = this.#options.layout;
    const slot = layout.getSlot(slotIndex);
    const words = layout.views.words;
    for (const channel of layout.channels) {
      const outstanding = slot.outstanding(channel.globalIndex);
      if (outstanding !== 0) Atomics.sub(words, channel.pendingIndex, outstanding);
      words[slot.outstandingIndex(channel.globalIndex)] = 0;
      layout.formatRingPair(channel, slotIndex);
    }
    Atomics.store(words, slot.parkedIndex, 0);
    slot.pid = 0;
    slot.state = SlotState.Free;
    this.#draining.delete(slotIndex);
    layout.bumpSlotEpoch();
  }
}
