import { readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { IpcClient } from '@phoenix-ipc/client';
import { closeFd, connectSeqpacket, receiveMessage, SharedSegment, sendMessage } from '@phoenix-ipc/native-shm';
import { controlSocketName, PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { cpuTicks, sleep, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { HELLO_TIMEOUT_MS } from '../src/client-admission.js';
import { IpcServer, type PhoenixError } from '../src/index.js';
import { ECHO } from './fixtures/handlers.mjs';
import { Harness, segmentsWithPrefix, WORKER_SCRIPT } from './harness.js';

const text = new TextDecoder();

const harness = new Harness();
const silent: number[] = [];
afterEach(async () => {
  for (const fd of silent.splice(0)) closeFd(fd);
  await harness.cleanup();
});

/** The name of the supervisor's control socket, read from the segment as a client does. */
function controlSocketOf(name: string): string {
  const segment = SharedSegment.open(name);
  try {
    const layout = PhoenixShmLayout.attach(segment.buffer);
    return controlSocketName(name, layout.supervisorPid, layout.epoch, layout.controlNonce);
  } finally {
    segment.close();
  }
}

/**
 * Opens `count` connections to the control socket that never say hello; each
 * says `say(fd)` instead as soon as it is connected, when given (whether it
 * arrives or the supervisor has already hung up does not matter).
 */
async function connectSilently(name: string, count: number, say?: (fd: number) => unknown): Promise<number[]> {
  const socket = controlSocketOf(name);
  const fds: number[] = [];
  while (fds.length < count) {
    let fd: number;
    try {
      fd = connectSeqpacket(socket);
    } catch (error) {
      // The listen backlog is full (EAGAIN): let the supervisor accept some first.
      if ((error as PhoenixError).errno !== constants.errno.EAGAIN) throw error;
      await sleep(1);
      continue;
    }
    silent.push(fd);
    fds.push(fd);
    if (say !== undefined) sendMessage(fd, new TextEncoder().encode(JSON.stringify(say(fd))));
  }
  return fds;
}

const send = (fd: number, document: unknown) =>
  expect(sendMessage(fd, new TextEncoder().encode(JSON.stringify(document)))).toBe(true);

/** What a newcomer may say instead of a sound hello: a report, a malformed hello, a kind from a newer version. */
const NOT_HELLO = [{ t: 'corrupt', worker: 0, message: 'm' }, { t: 'hello', v: 'one', pid: 1 }, { t: 'newer' }];

function closedByPeer(fd: number): boolean {
  const received = receiveMessage(fd);
  return received !== null && received.eof === true;
}

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

async function clientCalls(name: string): Promise<string> {
  const client = harness.track(IpcClient.create(name));
  await client.connect(10_000);
  return text.decode((await client.call(ECHO, 'admitted')).payload);
}

describe('connections to the control socket that never say hello', () => {
  it(`are closed after ${HELLO_TIMEOUT_MS} ms, and real clients are admitted meanwhile`, async () => {
    const name = harness.name('silent');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const fds = await connectSilently(name, 3);
    expect(await clientCalls(name)).toBe('admitted');
    await waitUntil(() => fds.every(closedByPeer), HELLO_TIMEOUT_MS + 5000, 'the silent connections to be closed');
    expect(server.metrics().clients).toBe(1);
  }, 30_000);

  it(`are closed after ${HELLO_TIMEOUT_MS} ms when all they say is something other than a sound hello`, async () => {
    const name = harness.name('nothello');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const fds = await connectSilently(name, NOT_HELLO.length, (fd) => NOT_HELLO[fd % NOT_HELLO.length]);
    expect(await clientCalls(name)).toBe('admitted');
    await waitUntil(() => fds.every(closedByPeer), HELLO_TIMEOUT_MS + 5000, 'the connections to be closed');
    expect(server.metrics().clients).toBe(1);
  }, 30_000);

  it('hold a bounded number of the supervisor fds however many there are', async () => {
    const name = harness.name('flood');
    const cluster = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 });
    await cluster.waitFor('ready');
    const before = openFds(cluster.pid);
    await connectSilently(name, 300);
    expect(await clientCalls(name)).toBe('admitted');
    // At most 64 wait for their hello; the client holds one more connection and its doorbells.
    expect(openFds(cluster.pid)).toBeLessThanOrEqual(before + 64 + 8);
  }, 30_000);

  it('hold a bounded number of the supervisor fds however many say something other than hello', async () => {
    const name = harness.name('chatty');
    const cluster = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 });
    await cluster.waitFor('ready');
    const before = openFds(cluster.pid);
    await connectSilently(name, 300, (fd) => NOT_HELLO[fd % NOT_HELLO.length]);
    expect(await clientCalls(name)).toBe('admitted');
    expect(openFds(cluster.pid)).toBeLessThanOrEqual(before + 64 + 8);
  }, 30_000);
});

describe('connections that send malformed control messages', () => {
  /** The next message on `fd` (waiting for it), its fds closed. */
  async function nextMessage(fd: number) {
    const received: NonNullable<ReturnType<typeof receiveMessage>>[] = [];
    await waitUntil(
      () => {
        const message = receiveMessage(fd);
        if (message !== null) received.push(message);
        return received.length > 0;
      },
      5000,
      'a message from the supervisor',
    );
    const [message] = received;
    if (message!.eof) return null;
    for (const doorbell of message!.fds) closeFd(doorbell);
    return JSON.parse(text.decode(message!.data)) as { t: string };
  }

  it('have each malformed message dropped: a hello with fields of the wrong type admits nobody', async () => {
    const name = harness.name('badhello');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const [fd] = await connectSilently(name, 1);
    send(fd!, { t: 'hello', v: 'one', pid: 1 });
    send(fd!, { t: 'hello', v: 1, pid: -5 });
    send(fd!, { t: 'corrupt', worker: '0', message: 'm' });
    // Messages on one connection are read in order: the welcome answers the one sound hello.
    send(fd!, { t: 'hello', v: 1, pid: process.pid });
    expect(await nextMessage(fd!)).toMatchObject({ t: 'welcome', slot: 1 });
    expect(server.metrics().clients).toBe(1);
    expect(await clientCalls(name)).toBe('admitted');
  });

  it('announce a client that leaves before its welcome as connected, then gone, and hand its slot back', async () => {
    const name = harness.name('gonefirst');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 1 }));
    await server.start(WORKER_SCRIPT, [name]);
    const events: string[] = [];
    server.on('clientConnected', () => events.push('connected'));
    server.on('clientGone', () => events.push('gone'));
    const [fd] = await connectSilently(name, 1);
    send(fd!, { t: 'hello', v: 1, pid: process.pid });
    closeFd(silent.splice(silent.indexOf(fd!), 1)[0]!); // gone before the supervisor has read the hello
    await waitUntil(() => events.includes('gone'), 5000, 'the client to be gone');
    expect(events).toEqual(['connected', 'gone']);
    expect(await clientCalls(name)).toBe('admitted');
  });

  it('never act on a malformed corrupt report from an admitted client: its worker keeps running', async () => {
    const name = harness.name('badreport');
    const server = harness.track(await IpcServer.create(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 }));
    await server.start(WORKER_SCRIPT, [name]);
    const [worker] = server.getWorkerStats();
    const [fd] = await connectSilently(name, 1);
    send(fd!, { t: 'hello', v: 1, pid: process.pid });
    expect(await nextMessage(fd!)).toMatchObject({ t: 'welcome' });
    for (const worker of [0.5, -1, '0', null]) send(fd!, { t: 'corrupt', worker, message: 'm' });
    send(fd!, { t: 'bye' });
    await waitUntil(() => server.metrics().clients === 0, 5000, 'the bye to be read');
    expect(server.getWorkerStats()[0]!.pid).toBe(worker!.pid);
    expect(await clientCalls(name)).toBe('admitted');
  });
});

describe('a supervisor near its fd limit', () => {
  it('starts its workers and replaces a crashed one with few fds to spare', async () => {
    const name = harness.name('fewfds');
    // About 75 fds open once ready: spawning used to need as many again above the highest.
    const cluster = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 32 }, {}, { fdLimit: 100 });
    const ready = await cluster.waitFor('ready', 20_000);
    const [worker] = ready.stats as { pid: number }[];
    process.kill(worker!.pid, 'SIGKILL');
    await waitUntil(
      () => cluster.messages.some((message) => message.event === 'workerRestart'),
      20_000,
      'the worker to be replaced',
    );
    expect((await cluster.ask('call 1001', 'called', 20_000)).called).toBeGreaterThan(0);
  });
});

describe('a supervisor out of file descriptors', () => {
  it('fails create() ERR_PHOENIX_SYSCALL_FAILED saying how many fds maxClients needs, keeping none of them', async () => {
    const name = harness.name('fdbudget');
    const cluster = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 200 }, {}, { fdLimit: 128 });
    const failed = await cluster.waitFor('createFailed', 20_000);
    expect(failed.createFailed).toBe('ERR_PHOENIX_SYSCALL_FAILED');
    expect(failed.message).toMatch(/maxClients 200 .* about \d+ fds, and this process may open 128 \(ulimit -n\)/);
    expect(failed.fdsAfter).toBe(failed.fdsBefore);
    await cluster.exited;
    expect(segmentsWithPrefix().map((entry) => `/${entry}`)).not.toContain(name);
  });

  it('does not spin on its listening socket, and admits clients again once fds are free', async () => {
    const name = harness.name('emfile');
    const cluster = harness.cluster(name, { normalWorkers: 1, vipWorkers: 0, maxClients: 2 }, {}, { fdLimit: 80 });
    await cluster.waitFor('ready');
    // Fewer than the 64 the supervisor would keep waiting: its fd table fills up first.
    await connectSilently(name, 64);
    await waitUntil(() => openFds(cluster.pid) >= 79, 10_000, 'the supervisor to run out of fds');
    const start = cpuTicks(cluster.pid);
    const window = Date.now();
    await waitUntil(() => Date.now() - window >= 1000, 5000, 'a second to pass');
    // A spinning event loop uses the whole second (100 ticks); an idle one next to none.
    expect(cpuTicks(cluster.pid) - start).toBeLessThan(30);
    for (const fd of silent.splice(0)) closeFd(fd);
    expect(await clientCalls(name)).toBe('admitted');
  }, 30_000);
});
