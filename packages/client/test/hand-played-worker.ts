import { closeFd, createEventFd, drainEventFd, signalEventFd } from '@phoenix-ipc/native-shm';
import { Frames, PhoenixShmLayout, Priority, RESPONSE_FRAME_BYTES } from '@phoenix-ipc/shm-layout';
import { afterEach } from 'vitest';
import { CallerEngine } from '../src/caller-engine.js';
import { PhoenixError } from '../src/index.js';

const SLOT = 1;
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A caller engine over an in-memory segment with one worker, played by the
 * test: it takes the requests from the ring and answers them by hand.
 */
export function callerAndHandPlayedWorker() {
  const options = { normalWorkers: 1, vipWorkers: 0, maxClients: 2 };
  const layout = PhoenixShmLayout.format(new SharedArrayBuffer(PhoenixShmLayout.requiredSize(options)), options);
  const doorbell = createEventFd();
  const workerDoorbell = createEventFd();
  const engine = new CallerEngine({
    layout,
    slot: SLOT,
    doorbellFd: doorbell,
    workerDoorbellFds: [workerDoorbell],
    waitStrategy: 'block',
  });
  cleanups.push(() => {
    engine.close(new PhoenixError('ERR_PHOENIX_SERVER_GONE', 'test over'));
    closeFd(doorbell);
    closeFd(workerDoorbell);
  });
  const words = layout.views.words;
  const channel = layout.channels[0]!;
  const callOptions = { priority: Priority.Normal, timeoutMs: 10_000, signal: undefined, onQueueFull: 'wait' } as const;
  return {
    engine,
    channel,
    call: () => engine.call(1001, new Uint8Array(16), callOptions),
    /** The seq ids of the requests written so far, taken out of the ring. */
    takeRequests(): number[] {
      const ring = channel.requestRing(SLOT);
      const seqIds: number[] = [];
      for (let frame = ring.peekRecord(); frame >= 0; frame = ring.peekRecord()) {
        seqIds.push(Frames.requestSeqId(words, frame));
        ring.take();
      }
      ring.release();
      return seqIds;
    },
    /** Publishes an empty reply to `seqId`, then parks the worker as one that found no more room would. */
    answerThenPark(seqId: number): void {
      const ring = channel.responseRing(SLOT);
      const frame = ring.reserve(RESPONSE_FRAME_BYTES);
      Frames.writeResponseFrame(words, frame, seqId, 1001, 0, false, 0, 0);
      ring.commit(RESPONSE_FRAME_BYTES);
      ring.flush();
      Atomics.store(words, channel.parkedIndex, 1);
      signalEventFd(doorbell);
    },
    workerRung: () => drainEventFd(workerDoorbell),
  };
}
