// A client's control connection against a supervisor that sends malformed
// messages or hangs up: a broken peer, or a process that set up a valid
// segment and a listening socket of its own. Whatever arrives, the client
// never throws out of its event loop: a message with a field of the wrong type
// is dropped and the connection kept (a sound supervisor may relay a value a
// broken peer wrote into shared memory), facts of the wrong type in a crash
// answer are dropped, and a hang-up during connect() is another attempt.
import { openSync, readlinkSync } from 'node:fs';
import {
  acceptSeqpacket,
  closeFd,
  createChannelPair,
  createEventFd,
  listenSeqpacket,
  processStartTime,
  receiveMessage,
  SharedSegment,
  sendMessage,
  unlinkSegment,
} from '@phoenix-ipc/native-shm';
import { controlSocketName, PhoenixShmLayout, SupervisorState } from '@phoenix-ipc/shm-layout';
import { fdsOpenedSince, openFds, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ControlConnection } from '../src/control-connection.js';
import { IpcClient, PhoenixError } from '../src/index.js';

/** Doorbell watchers (those that drain) still to fail as if libuv had no memory for them. */
const doorbellWatchFailures = vi.hoisted(() => ({ left: 0 }));
/** Starts of any watcher still to fail; how many watchers whose start failed were closed. */
const startFailures = vi.hoisted(() => ({ left: 0, closedAfter: 0 }));

vi.mock('@phoenix-ipc/native-shm', async (importOriginal) => {
  const native = await importOriginal<typeof import('@phoenix-ipc/native-shm')>();
  const { fdWatcherThatMayFail, noMemoryForWatcher } = await import('@phoenix-ipc/test-kit');
  const onDoorbell = (_fd: number, options?: { drain?: boolean }) => options?.drain !== false;
  class FdWatcherThatMayFail extends fdWatcherThatMayFail(native.FdWatcher, doorbellWatchFailures, onDoorbell) {
    #startFailed = false;
    override start(): void {
      if (startFailures.left > 0) {
        startFailures.left--;
        this.#startFailed = true;
        throw noMemoryForWatcher('uv_poll_start');
      }
      super.start();
    }
    override close(): void {
      if (this.#startFailed) startFailures.closedAfter++;
      super.close();
    }
  }
  return { ...native, FdWatcher: FdWatcherThatMayFail };
});

const WORKERS = 2;
const EPOCH = 3;
const NONCE = 0x5eed;

/**
 * The supervisor's side of one client, played by the test: a valid segment
 * naming this process, a listening control socket, and a welcome with real
 * eventfds. Everything it sends after that is up to the test.
 */
class FakeSupervisor {
  readonly #fds: number[] = [];
  readonly #segment: SharedSegment;
  #connection = -1;
  #closed = false;

  private constructor(
    readonly name: string,
    segment: SharedSegment,
    readonly listenFd: number,
  ) {
    this.#segment = segment;
    this.#fds.push(listenFd);
  }

  static open(name: string): FakeSupervisor {
    const options = { normalWorkers: WORKERS, vipWorkers: 0, maxClients: 2 };
    const segment = SharedSegment.open(name, {
      create: true,
      exclusive: true,
      size: PhoenixShmLayout.requiredSize(options),
    });
    const identity = {
      epoch: EPOCH,
      supervisorPid: process.pid,
      supervisorStartTime: processStartTime(process.pid) ?? 0,
      controlNonce: NONCE,
    };
    const layout = PhoenixShmLayout.format(segment.buffer, options, identity);
    layout.supervisorState = SupervisorState.Running;
    const listenFd = listenSeqpacket(controlSocketName(name, process.pid, EPOCH, NONCE));
    return new FakeSupervisor(name, segment, listenFd);
  }

  /** Takes the client's connection and its hello, then closes the connection without an answer. */
  async hangUp(): Promise<void> {
    await this.admit(null);
  }

  /**
   * Takes the client's connection and its hello, and welcomes it into slot 1
   * (or with `welcome` as it is; null: closes the connection instead), with
   * a doorbell for the slot and one per worker from `openDoorbell`.
   */
  async admit(
    welcome: unknown = { t: 'welcome', slot: 1, generation: 1, epoch: EPOCH, workers: WORKERS },
    openDoorbell: () => number = createEventFd,
  ): Promise<void> {
    await waitUntil(
      () => {
        this.#connection = acceptSeqpacket(this.listenFd);
        return this.#connection >= 0;
      },
      5000,
      'the client to connect',
    );
    this.#fds.push(this.#connection);
    await waitUntil(() => receiveMessage(this.#connection) !== null, 5000, "the client's hello");
    if (welcome === null) {
      closeFd(this.#fds.pop()!);
      return;
    }
    const doorbells = Array.from({ length: WORKERS + 1 }, () => openDoorbell());
    this.#fds.push(...doorbells);
    try {
      sendMessage(this.#connection, new TextEncoder().encode(JSON.stringify(welcome)), doorbells);
    } catch {
      // A client whose deadline passed meanwhile has closed its end (EPIPE): what it saw is the test's to check.
    }
  }

  /** Sends any JSON document as a control message. */
  send(document: unknown, fds: number[] = []): void {
    this.sendBytes(new TextEncoder().encode(JSON.stringify(document)), fds);
  }

  sendBytes(bytes: Uint8Array, fds: number[] = []): void {
    expect(sendMessage(this.#connection, bytes, fds)).toBe(true);
  }

  /** Closes every fd and the segment, and unlinks it; again: nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.#fds.splice(0)) closeFd(fd);
    this.#segment.close();
    unlinkSegment(this.name);
  }
}

function codeOf(error: unknown): string {
  return PhoenixError.isInstance(error) ? error.code : `not a PhoenixError: ${String(error)}`;
}

const opened: { client: IpcClient; fake: FakeSupervisor }[] = [];

afterEach(async () => {
  for (const { client, fake } of opened.splice(0)) {
    await client.disconnect().catch(() => undefined);
    fake.close();
  }
});

/**
 * One connect() that the fake welcomes with doorbells from `openDoorbell`,
 * then the fake closed: the outcome, and the fds the attempt left open here.
 */
async function connectOnce(tag: string, openDoorbell?: () => number): Promise<{ outcome: string; leftOpen: string[] }> {
  const before = openFds();
  const fake = FakeSupervisor.open(`/phx_ctl_${tag}_${process.pid}_${Math.floor(Math.random() * 1e9)}`);
  const client = IpcClient.create(fake.name);
  opened.push({ client, fake });
  const [outcome] = await Promise.all([
    client.connect(2000).then(() => 'connected', codeOf),
    fake.admit(undefined, openDoorbell),
  ]);
  fake.close();
  return {
    outcome,
    leftOpen: fdsOpenedSince(before),
  };
}

async function connectedClient(tag: string) {
  const fake = FakeSupervisor.open(`/phx_ctl_${tag}_${process.pid}_${Math.floor(Math.random() * 1e9)}`);
  const client = IpcClient.create(fake.name);
  const pair = { client, fake };
  opened.push(pair);
  const gone: string[] = [];
  client.on('server-gone', (reason: string) => gone.push(reason));
  await Promise.all([client.connect(5000), fake.admit()]);
  expect(client.getState()).toBe('connected');
  return { ...pair, gone };
}

describe('a client whose supervisor sends malformed control messages', () => {
  it.each([
    [
      'a crash answer whose seq id is text',
      { t: 'failed', seqId: 'x', code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'm' },
    ],
    ['a crash answer without a code', { t: 'failed', seqId: 1, message: 'm' }],
    [
      'a crash answer whose message is a number',
      { t: 'failed', seqId: 1, code: 'ERR_PHOENIX_WORKER_CRASHED', message: 5 },
    ],
    ['a worker-down notice for worker "1"', { t: 'worker-down', worker: '1' }],
    ['a worker-down notice for worker 1.5', { t: 'worker-down', worker: 1.5 }],
    ['a channel reset of worker null', { t: 'channel-reset', worker: null, message: 'm' }],
    ['a channel reset without a message', { t: 'channel-reset', worker: 0 }],
    ['a channel-ready notice for worker -1', { t: 'channel-ready', worker: -1 }],
    ['a shutdown whose reason is an object', { t: 'shutdown', reason: { why: 1 } }],
  ])('drops %s and keeps the connection: a later shutdown still arrives, never a throw', async (_label, document) => {
    const { client, fake, gone } = await connectedClient('bad');
    fake.send(document);
    fake.send({ t: 'shutdown', reason: 'stopping' });
    await waitUntil(() => client.getState() === 'server-gone', 5000, 'the shutdown to arrive');
    expect(gone).toEqual(['stopping']);
  });

  it('ends the connection on bytes that are not a control message (a broken peer)', async () => {
    const { client, fake, gone } = await connectedClient('notjson');
    fake.sendBytes(new Uint8Array([0x7b, 0xff, 0x00]));
    await waitUntil(() => client.getState() === 'server-gone', 5000, 'the client to give the supervisor up');
    expect(gone).toEqual(['the supervisor closed the connection']);
  });

  it('refuses a welcome whose slot is text: connect() fails with a PhoenixError, never a throw', async () => {
    const fake = FakeSupervisor.open(`/phx_ctl_welcome_${process.pid}_${Math.floor(Math.random() * 1e9)}`);
    const client = IpcClient.create(fake.name);
    opened.push({ client, fake });
    const [outcome] = await Promise.all([
      client.connect(2000).then(
        () => 'connected',
        (error: PhoenixError) => error.code,
      ),
      fake.admit({ t: 'welcome', slot: '1', generation: 1, epoch: EPOCH, workers: WORKERS }),
    ]);
    expect(outcome).toBe('ERR_PHOENIX_CONNECT_TIMEOUT');
    expect(client.getState()).not.toBe('connected');
  });

  it('refuses a welcome whose fds are not doorbells, keeps none of them, and connects afterwards', async () => {
    // The right count of fds, of the wrong kind: epoll refuses /dev/null (EPERM).
    expect(await connectOnce('devnull', () => openSync('/dev/null', 'r'))).toEqual({
      outcome: 'ERR_PHOENIX_BAD_SEGMENT',
      leftOpen: [],
    });
    const { client } = await connectedClient('after_devnull');
    expect(client.getState()).toBe('connected');
  });

  it('keeps no watcher and no fd when watching its doorbell fails, and connects afterwards', async () => {
    doorbellWatchFailures.left = 1;
    // A watcher left on the closed control socket is armed again on whatever the process opens next under that
    // number: a file there aborts the process (epoll refuses it), which took this test's process down before.
    expect(await connectOnce('nowatch')).toEqual({ outcome: 'ERR_PHOENIX_SYSCALL_FAILED', leftOpen: [] });
    expect(doorbellWatchFailures.left).toBe(0);
    const { client } = await connectedClient('after_nowatch');
    expect(client.getState()).toBe('connected');
  });

  it('closes the watcher of a control connection that cannot start watching, and leaves the fd to its owner', () => {
    const [ours, theirs] = createChannelPair();
    try {
      startFailures.left = 1;
      expect(() => new ControlConnection(ours, { onMessage: () => {}, onClose: () => {} })).toThrow(
        expect.objectContaining({ code: 'ERR_PHOENIX_SYSCALL_FAILED' }),
      );
      expect(startFailures.closedAfter).toBe(1);
      expect(readlinkSync(`/proc/self/fd/${ours}`)).toMatch(/^socket:/); // still open: the owner's to close
    } finally {
      startFailures.left = 0;
      closeFd(ours);
      closeFd(theirs);
    }
  });

  it('tries again after a supervisor that hung up during the handshake, and then connects', async () => {
    const fake = FakeSupervisor.open(`/phx_ctl_hangup_${process.pid}_${Math.floor(Math.random() * 1e9)}`);
    const client = IpcClient.create(fake.name);
    opened.push({ client, fake });
    const connected = client.connect(10_000);
    await fake.hangUp();
    await fake.admit();
    await connected;
    expect(client.getState()).toBe('connected');
  });

  it('keeps a crash answer whose details are not an object, without its facts', async () => {
    const { client, fake, gone } = await connectedClient('details');
    for (const details of [null, 7, 'text', [1, 2], { workerIndex: 'one', pid: 1.5, signal: 9, group: 'x' }]) {
      fake.send({ t: 'failed', seqId: 123_456, code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'm', details });
    }
    // The connection still reads what follows: a shutdown, with its own reason.
    fake.send({ t: 'shutdown', reason: 'stopping' });
    await waitUntil(() => client.getState() === 'server-gone', 5000, 'the shutdown to arrive');
    expect(gone).toEqual(['stopping']);
  });

  it('ignores a kind of message it does not know (a newer supervisor may send more)', async () => {
    const { client, fake, gone } = await connectedClient('unknown');
    fake.send({ t: 'something-new', worker: 'any' });
    fake.send({ t: 'shutdown', reason: 'stopping' });
    await waitUntil(() => client.getState() === 'server-gone', 5000, 'the shutdown to arrive');
    expect(gone).toEqual(['stopping']);
  });
});
