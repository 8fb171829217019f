import { readFileSync } from 'node:fs';
import { expectPhoenixError, waitUntil } from '@phoenix-ipc/test-kit';
import { describe, expect, it } from 'vitest';
import {
  acceptSeqpacket,
  closeFd,
  connectSeqpacket,
  createEventFd,
  drainEventFd,
  FdWatcher,
  listenSeqpacket,
  peerCredentials,
  type ReceivedMessage,
  receiveMessage,
  SharedSegment,
  sendMessage,
  signalEventFd,
} from '../src/index.js';
import {
  segmentName,
  socketName,
  spawnFixture,
  track,
  trackFd,
  trackWatcher,
  untrackFd,
  useCleanup,
  WAIT_MS,
} from './helpers.js';

useCleanup();

/** A connected pair within this process: [client, accepted server-side connection]. */
function connectedPair(): [number, number] {
  const name = socketName();
  const server = trackFd(listenSeqpacket(name));
  const client = trackFd(connectSeqpacket(name));
  const accepted = acceptSeqpacket(server);
  expect(accepted).toBeGreaterThanOrEqual(0);
  return [client, trackFd(accepted)];
}

function expectData(message: ReceivedMessage | null): { data: Buffer; fds: number[]; truncated: boolean } {
  if (message === null || message.eof) throw new Error(`expected a message, got ${JSON.stringify(message)}`);
  for (const fd of message.fds) trackFd(fd);
  return message;
}

describe('seqpacket sockets', () => {
  it('acceptSeqpacket returns -1 when no connection is pending', () => {
    const listener = trackFd(listenSeqpacket(socketName()));
    expect(acceptSeqpacket(listener)).toBe(-1);
  });

  it('carry one message with its bytes intact', () => {
    const [client, server] = connectedPair();
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
    expect(sendMessage(client, bytes)).toBe(true);
    const message = expectData(receiveMessage(server));
    expect(new Uint8Array(message.data)).toEqual(bytes);
    expect(message.fds).toEqual([]);
    expect(message.truncated).toBe(false);
  });

  it('keep message boundaries', () => {
    const [client, server] = connectedPair();
    sendMessage(client, Buffer.from('one'));
    sendMessage(client, Buffer.from('two'));
    expect(expectData(receiveMessage(server)).data.toString()).toBe('one');
    expect(expectData(receiveMessage(server)).data.toString()).toBe('two');
  });

  it('carry several fds that arrive as new descriptors for the same open files', () => {
    const [client, server] = connectedPair();
    const doorbells = [trackFd(createEventFd()), trackFd(createEventFd()), trackFd(createEventFd())];
    const name = segmentName();
    const segment = track(SharedSegment.open(name, { create: true, size: 4096 }));
    expect(sendMessage(client, Buffer.from('fds'), [...doorbells, segment.fd])).toBe(true);
    const message = expectData(receiveMessage(server));
    expect(message.data.toString()).toBe('fds');
    expect(message.fds).toHaveLength(4);
    for (const fd of message.fds) expect([...doorbells, segment.fd]).not.toContain(fd);
    // Signalling a received copy rings the original, and in order.
    doorbells.forEach((_, i) => {
      signalEventFd(message.fds[i]!);
      expect(drainEventFd(doorbells[i]!)).toBe(1);
      expect(drainEventFd(doorbells[(i + 1) % 3]!)).toBe(0);
    });
  });

  it('hand out received fds as close-on-exec', () => {
    const [client, server] = connectedPair();
    sendMessage(client, Buffer.from('x'), [trackFd(createEventFd({ inheritable: true }))]);
    const [fd] = expectData(receiveMessage(server)).fds;
    const flags = Number.parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
    expect(flags & 0o2000000).not.toBe(0);
  });

  it('receiveMessage returns null when nothing is pending', () => {
    const [, server] = connectedPair();
    expect(receiveMessage(server)).toBeNull();
  });

  it('receiveMessage returns { eof: true } after the peer closes', () => {
    const [client, server] = connectedPair();
    closeFd(client);
    untrackFd(client);
    expect(receiveMessage(server)).toEqual({ eof: true });
  });

  it('deliver queued messages before eof', () => {
    const [client, server] = connectedPair();
    sendMessage(client, Buffer.from('last words'));
    closeFd(client);
    untrackFd(client);
    expect(expectData(receiveMessage(server)).data.toString()).toBe('last words');
    expect(receiveMessage(server)).toEqual({ eof: true });
  });

  it('sendMessage to a closed peer throws ERR_PHOENIX_PEER_GONE (no SIGPIPE)', () => {
    const [client, server] = connectedPair();
    closeFd(server);
    untrackFd(server);
    expectPhoenixError(() => sendMessage(client, Buffer.from('x')), 'ERR_PHOENIX_PEER_GONE', /Broken pipe/);
  });

  it('wake an FdWatcher (drain: false) when a message arrives', async () => {
    const [client, server] = connectedPair();
    const received: string[] = [];
    const watcher = trackWatcher(
      new FdWatcher(
        server,
        () => {
          const message = receiveMessage(server);
          if (message && !message.eof) received.push(message.data.toString());
        },
        { drain: false },
      ),
    );
    watcher.start();
    sendMessage(client, Buffer.from('ping'));
    await waitUntil(() => received.length === 1, WAIT_MS, 'the message');
    expect(received).toEqual(['ping']);
  });

  it('peerCredentials returns the pid and uid of the connected child process', async () => {
    const name = socketName();
    const listener = trackFd(listenSeqpacket(name));
    const child = spawnFixture('socket-child.mjs', ['connect-and-wait', name]);
    const hello = JSON.parse(await child.line(/"connected"/));
    const connection = trackFd(acceptSeqpacket(listener));
    expect(connection).toBeGreaterThanOrEqual(0);
    const credentials = peerCredentials(connection);
    expect(credentials.pid).toBe(child.pid);
    expect(credentials.pid).toBe(hello.pid);
    expect(credentials.uid).toBe(process.getuid!());
    expect(credentials.gid).toBe(process.getgid!());
    closeFd(connection); // the child exits on eof
    untrackFd(connection);
    expect(await child.exited()).toEqual({ code: 0, signal: null });
  });

  it('connecting to a name nobody listens on throws ERR_PHOENIX_CONNECT_REFUSED', () => {
    const error = expectPhoenixError(() => connectSeqpacket(socketName()), 'ERR_PHOENIX_CONNECT_REFUSED');
    expect(error.syscall).toBe('connect');
  });

  it('listening twice on the same name throws ERR_PHOENIX_SEGMENT_EXISTS (EADDRINUSE)', () => {
    const name = socketName();
    trackFd(listenSeqpacket(name));
    const error = expectPhoenixError(() => listenSeqpacket(name), 'ERR_PHOENIX_SEGMENT_EXISTS', /in use/);
    expect(error.errno).toBeTypeOf('number');
  });

  it('a name is free again once its listener is closed', () => {
    const name = socketName();
    const first = listenSeqpacket(name);
    closeFd(first);
    trackFd(listenSeqpacket(name));
  });

  it.each([
    ['an empty name', ''],
    ['a name over 100 bytes', 'x'.repeat(101)],
    ['a name with NUL', 'a\0b'],
  ])('reject %s with ERR_PHOENIX_INVALID_ARGUMENT', (_label, name) => {
    expectPhoenixError(() => listenSeqpacket(name), 'ERR_PHOENIX_INVALID_ARGUMENT', /socket name/);
    expectPhoenixError(() => connectSeqpacket(name), 'ERR_PHOENIX_INVALID_ARGUMENT', /socket name/);
  });

  it.each([
    ['an empty message', new Uint8Array(0), /1 to 65536 bytes/],
    ['a message over 64 KiB', new Uint8Array(65537), /1 to 65536 bytes/],
    ['a string instead of bytes', 'text', /Uint8Array/],
    ['an Int32Array instead of bytes', new Int32Array(4), /Uint8Array/],
  ])('sendMessage rejects %s with ERR_PHOENIX_INVALID_ARGUMENT', (_label, data, reason) => {
    const [client] = connectedPair();
    expectPhoenixError(() => sendMessage(client, data as Uint8Array), 'ERR_PHOENIX_INVALID_ARGUMENT', reason);
  });

  it('sendMessage rejects more than 64 fds', () => {
    const [client] = connectedPair();
    const fd = trackFd(createEventFd());
    expectPhoenixError(
      () => sendMessage(client, Buffer.from('x'), new Array(65).fill(fd)),
      'ERR_PHOENIX_INVALID_ARGUMENT',
      /at most 64/,
    );
  });
});
