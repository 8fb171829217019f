import { loadBinding } from './binding.js';
import { checkArray, invalidArgument } from './errors.js';

/**
 * Unix-domain SOCK_SEQPACKET sockets that can carry file descriptors
 * (SCM_RIGHTS). Message boundaries are kept, so every receive is one whole
 * message. All sockets are non-blocking and close-on-exec; watch them with
 * `FdWatcher(fd, cb, { drain: false })`. On Linux names are in the abstract
 * namespace: nothing is created in the file system.
 */

function checkSocketName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 100 || name.includes('\0')) {
    throw invalidArgument(
      `socket name must be 1 to 100 bytes without NUL, got ${typeof name === 'string' ? JSON.stringify(name) : typeof name}`,
    );
  }
}

/** Listens on `name`; returns the listening fd. EADDRINUSE maps to ERR_PHOENIX_SEGMENT_EXISTS. */
export function listenSeqpacket(name: string, backlog = 64): number {
  checkSocketName(name);
  return loadBinding().listenSeqpacket(name, backlog);
}

/** Connects to `name`; ERR_PHOENIX_CONNECT_REFUSED if nobody listens there. */
export function connectSeqpacket(name: string): number {
  checkSocketName(name);
  return loadBinding().connectSeqpacket(name);
}

/** Accepts one pending connection; -1 if none is pending. */
export function acceptSeqpacket(listenFd: number): number {
  return loadBinding().acceptSeqpacket(listenFd);
}

/**
 * Sends one message (1 to 65536 bytes) with up to 64 fds. The receiver gets
 * its own duplicates of the fds. Returns false if the socket buffer is full.
 */
export function sendMessage(fd: number, data: Uint8Array, fds: readonly number[] = []): boolean {
  checkArray(fds, 'fds');
  return loadBinding().sendMessage(fd, data, [...fds]);
}

export type ReceivedMessage = { eof: true } | { eof?: false; data: Buffer; fds: number[]; truncated: boolean };

/** Receives one message; null if none is pending; `{ eof: true }` once the peer has closed. */
export function receiveMessage(fd: number): ReceivedMessage | null {
  return loadBinding().receiveMessage(fd) as ReceivedMessage | null;
}

/** The connected peer's pid, uid and gid (SO_PEERCRED), fixed at connect time. */
export function peerCredentials(fd: number): { pid: number; uid: number; gid: number } {
  return loadBinding().peerCredentials(fd);
}
