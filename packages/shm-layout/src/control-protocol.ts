import type { PhoenixErrorCode, PhoenixErrorDetails } from '@phoenix-ipc/ringbuffer';
import { fnv1aHex } from './checksum.js';

/**
 * The control plane between the supervisor and client processes: one
 * Unix-domain SOCK_SEQPACKET connection per client for its whole life, each
 * message a small JSON document, file descriptors alongside (SCM_RIGHTS).
 * The data plane never touches it; it carries admission (slot + doorbells),
 * crash answers, failover notices and shutdown. Either side seeing the
 * connection close learns at once that the other process is gone.
 *
 *   client                              supervisor
 *     hello {pid}              ---->
 *                              <----    welcome {slot, generation, epoch} + fds [slot doorbell, worker doorbells...]
 *                              <----    busy (no free slot) | refused {code, message}
 *                              <----    failed {seqId, code, message, details}   (a dead worker's request)
 *                              <----    worker-down {worker}                     (move unstarted requests)
 *                              <----    shutdown {reason}                        (server stopping)
 *     corrupt {worker}         ---->    (a response ring from that worker failed validation)
 *                              <----    channel-reset {worker}                   (stop using it; its calls fail)
 *     channel-reset-ack {worker} -->
 *                              <----    channel-ready {worker}                   (freshly formatted: resync)
 *     bye                      ---->
 */
export const CONTROL_PROTOCOL_VERSION = 1;

export type ControlMessage =
  | { t: 'hello'; v: number; pid: number }
  | { t: 'welcome'; slot: number; generation: number; epoch: number; workers: number }
  | { t: 'busy'; maxClients: number }
  | { t: 'refused'; code: PhoenixErrorCode; message: string }
  | { t: 'failed'; seqId: number; code: PhoenixErrorCode; message: string; details: PhoenixErrorDetails }
  | { t: 'worker-down'; worker: number }
  | { t: 'shutdown'; reason: string }
  | { t: 'corrupt'; worker: number; message: string }
  | { t: 'channel-reset'; worker: number; message: string }
  | { t: 'channel-reset-ack'; worker: number }
  | { t: 'channel-ready'; worker: number }
  | { t: 'bye' };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeControlMessage(message: ControlMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** Parses a control message; null when it is not one (a broken peer). */
export function decodeControlMessage(bytes: Uint8Array): ControlMessage | null {
  try {
    const value = JSON.parse(decoder.decode(bytes)) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string') {
      return value as ControlMessage;
    }
  } catch {
    // fall through
  }
  return null;
}

/**
 * The supervisor's control socket name (Linux abstract namespace): derived
 * from fields of the segment header, so a client that can read the segment
 * can find it, and a stale segment never leads to a newer supervisor's socket.
 */
export function controlSocketName(segmentName: string, supervisorPid: number, epoch: number, nonce: number): string {
  return `phoenix-ipc/${fnv1aHex(segmentName)}/${supervisorPid}/${epoch}/${(nonce >>> 0).toString(16)}`;
}
