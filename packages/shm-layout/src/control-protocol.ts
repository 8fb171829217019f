import { isPhoenixErrorCode, type PhoenixErrorCode, type PhoenixErrorDetails } from '@phoenix-ipc/ringbuffer';
import { fnv1aHex } from './checksum.js';
import { ERROR_FACT_CHECKS, isPlainRecord, isString } from './error-payload.js';

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
  | { t: 'bye' }
  /** A message of a kind this version knows whose fields did not check out: every receiver drops it. */
  | { t: 'malformed'; kind: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeControlMessage(message: ControlMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/**
 * Parses a control message; null when the bytes are not one (a broken peer:
 * ControlConnection ends the connection). A message of a kind this version
 * knows holds only the fields of its kind, each checked, so a receiver never
 * meets a text where it indexes by number. One whose fields do not check out
 * comes back as `{ t: 'malformed' }`, which every receiver drops: a sound
 * supervisor may relay a value it read from memory a broken peer wrote over
 * (a slot's generation, a request's seq id), and one such message must not
 * cost a client its connection.
 *
 * What a newer peer may send is let through: a kind this version does not
 * know (receivers ignore it); a code outside the catalogue becomes the kind's
 * generic one; a crash answer keeps only the facts of its details that pass
 * ERROR_FACT_CHECKS.
 */
export function decodeControlMessage(bytes: Uint8Array): ControlMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return null;
  }
  if (!isPlainRecord(value) || typeof value.t !== 'string') return null;
  // Own kinds only: a peer's "__proto__" or "toString" must not find Object.prototype's members.
  // A kind from a newer peer: passed on for its receiver to ignore.
  if (!Object.hasOwn(READERS, value.t)) return value as ControlMessage;
  return READERS[value.t]!(value) ?? { t: 'malformed', kind: value.t };
}

type Reader = (value: Record<string, unknown>) => ControlMessage | null;

/** Slots, workers, seq ids, pids, counts: never negative, never a fraction. */
function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

const workerOnly =
  (t: 'worker-down' | 'channel-reset-ack' | 'channel-ready'): Reader =>
  ({ worker }) =>
    isCount(worker) ? { t, worker } : null;

const workerAndMessage =
  (t: 'corrupt' | 'channel-reset'): Reader =>
  ({ worker, message }) =>
    isCount(worker) && isString(message) ? { t, worker, message } : null;

// The facts of a crash answer worth keeping: those the failure replies carry, and the call's own ids.
function crashFacts(details: unknown): PhoenixErrorDetails {
  const facts: Record<string, unknown> = {};
  if (!isPlainRecord(details)) return facts;
  for (const [key, check] of Object.entries(ERROR_FACT_CHECKS)) {
    if (Object.hasOwn(details, key) && check(details[key])) facts[key] = details[key];
  }
  for (const key of ['seqId', 'funcId'] as const) if (isCount(details[key])) facts[key] = details[key];
  return facts as PhoenixErrorDetails;
}

const READERS: Readonly<Record<string, Reader>> = {
  hello: ({ v, pid }) => (isCount(v) && isCount(pid) ? { t: 'hello', v, pid } : null),
  // The generation is the slot's word in shared memory, echoed (any 32-bit value once a peer wrote over it).
  welcome: ({ slot, generation, epoch, workers }) =>
    isCount(slot) && Number.isSafeInteger(generation) && isCount(epoch) && isCount(workers)
      ? { t: 'welcome', slot, generation: generation as number, epoch, workers }
      : null,
  busy: ({ maxClients }) => (isCount(maxClients) ? { t: 'busy', maxClients } : null),
  refused: ({ code, message }) =>
    isString(code) && isString(message)
      ? { t: 'refused', code: isPhoenixErrorCode(code) ? code : 'ERR_PHOENIX_UNAVAILABLE', message }
      : null,
  failed: ({ seqId, code, message, details }) =>
    isCount(seqId) && isString(code) && isString(message)
      ? {
          t: 'failed',
          seqId,
          code: isPhoenixErrorCode(code) ? code : 'ERR_PHOENIX_WORKER_CRASHED',
          message,
          details: crashFacts(details),
        }
      : null,
  'worker-down': workerOnly('worker-down'),
  shutdown: ({ reason }) => (isString(reason) ? { t: 'shutdown', reason } : null),
  corrupt: workerAndMessage('corrupt'),
  'channel-reset': workerAndMessage('channel-reset'),
  'channel-reset-ack': workerOnly('channel-reset-ack'),
  'channel-ready': workerOnly('channel-ready'),
  bye: () => ({ t: 'bye' }),
};

/**
 * The supervisor's control socket name (Linux abstract namespace): derived
 * from fields of the segment header, so a client that can read the segment
 * can find it, and a stale segment never leads to a newer supervisor's socket.
 */
export function controlSocketName(segmentName: string, supervisorPid: number, epoch: number, nonce: number): string {
  return `phoenix-ipc/${fnv1aHex(segmentName)}/${supervisorPid}/${epoch}/${(nonce >>> 0).toString(16)}`;
}
