import type { PhoenixError } from '@phoenix-ipc/shm-layout';
import type { QueueFullPolicy } from './call-options.js';
import type { Reply } from './reply.js';
import type { DeadlineEntry } from './timeout-queues.js';

/**
 * One call from submission until its reply (or failure) is seen. It stays in
 * the engine's in-flight map after its promise settles (timeout, abort) for
 * as long as a reply can still arrive, so that every request is counted out
 * exactly once and a late reply is recognised and dropped.
 */
export class PendingCall implements DeadlineEntry {
  seqId = 0;
  funcId = 0;
  /** 0 normal, 1 VIP. */
  groupId = 0;
  /** Global index of the worker the request was written to; -1 while waiting for space. */
  worker = -1;
  /** Absolute byte offset of the request frame in the segment. */
  frame = -1;
  /** Message index of the request in its ring (to tell whether the worker consumed it). */
  msgIndex = 0;
  deadline = 0;
  timeoutMs = 0;
  startedAt = 0;
  onQueueFull: QueueFullPolicy = 'wait';
  /** Kept only while the call waits for ring space. */
  payload: Uint8Array | null = null;
  settled = false;
  sync = false;
  resolve: ((reply: Reply) => void) | null = null;
  reject: ((error: PhoenixError) => void) | null = null;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** callInto: the caller's buffer the reply payload is copied into (null: a fresh copy). */
  target: Uint8Array | null = null;
  syncReply: Reply | null = null;
  syncError: PhoenixError | null = null;
}
