import { fnv1aWords } from '../src/checksum.js';
import {
  Frames,
  type LayoutOptions,
  PhoenixShmLayout,
  REQUEST_FRAME_BYTES,
  SegmentDescriptor,
  type WorkerChannel,
} from '../src/index.js';

/** A small configuration: every structure present, a few hundred KiB in all. */
export const SMALL: LayoutOptions = {
  normalWorkers: 2,
  vipWorkers: 2,
  normalQueueCapacity: 16,
  vipQueueCapacity: 8,
  maxPayloadBytes: 256,
  maxClients: 3,
};

/** A formatted segment in a SharedArrayBuffer of exactly the required size. */
export function makeLayout(
  options: LayoutOptions = SMALL,
  identity: Parameters<typeof PhoenixShmLayout.format>[2] = {},
): { buffer: SharedArrayBuffer; layout: PhoenixShmLayout } {
  const buffer = new SharedArrayBuffer(PhoenixShmLayout.requiredSize(options));
  return { buffer, layout: PhoenixShmLayout.format(buffer, options, identity) };
}

/** The header as i32 words. */
export function headerWords(buffer: ArrayBufferLike): Int32Array {
  return new Int32Array(buffer, 0, SegmentDescriptor.SEGMENT_HEADER_BYTES >> 2);
}

/** Recomputes the header checksum after a test edited checksummed words (to reach the checks behind it). */
export function fixChecksum(buffer: ArrayBufferLike): void {
  const words = headerWords(buffer);
  words[SegmentDescriptor.HEADER_CHECKSUM_OFFSET >> 2] = fnv1aWords(
    words,
    0,
    SegmentDescriptor.CHECKSUMMED_WORDS,
    SegmentDescriptor.VERSION_OFFSET >> 2,
  );
}

/** Sets the header word at byte `offset`, optionally fixing the checksum afterwards. */
export function setHeaderWord(buffer: ArrayBufferLike, offset: number, value: number, fix = false): void {
  headerWords(buffer)[offset >> 2] = value | 0;
  if (fix) fixChecksum(buffer);
}

export interface QueuedRequest {
  seqId: number;
  funcId: number;
  frame: number;
}

/**
 * Queues requests on (channel, slot)'s request ring as a caller does:
 * reserve, write the frame and payload, stage; one flush at the end.
 */
export function queueRequests(
  layout: PhoenixShmLayout,
  channel: WorkerChannel,
  slot: number,
  requests: readonly { seqId: number; funcId: number; payload?: number }[],
): QueuedRequest[] {
  const ring = channel.requestRing(slot);
  const queued: QueuedRequest[] = [];
  for (const { seqId, funcId, payload = 8 } of requests) {
    const frame = ring.reserve(REQUEST_FRAME_BYTES + payload);
    if (frame < 0) throw new Error('request ring full');
    Frames.writeRequestFrame(layout.views, frame, seqId, funcId, payload, 0);
    layout.views.bytes.fill(seqId & 0xff, frame + REQUEST_FRAME_BYTES, frame + REQUEST_FRAME_BYTES + payload);
    ring.stage();
    queued.push({ seqId, funcId, frame });
  }
  ring.flush();
  return queued;
}

/** What a consumer sees in (channel, slot)'s request ring, head first, without consuming it. */
export function readQueue(
  channel: WorkerChannel,
  slot: number,
  words: Int32Array,
): { seqId: number; funcId: number; attempt: number; state: number }[] {
  const ring = channel.attachRequestRing(slot);
  const out: { seqId: number; funcId: number; attempt: number; state: number }[] = [];
  for (let frame = ring.peekRecord(); frame >= 0; frame = ring.peekRecord()) {
    out.push({
      seqId: Frames.requestSeqId(words, frame),
      funcId: Frames.requestFuncId(words, frame),
      attempt: Frames.requestAttempt(words, frame),
      state: Atomics.load(words, Frames.requestStateIndex(frame)),
    });
    ring.take();
  }
  return out;
}
