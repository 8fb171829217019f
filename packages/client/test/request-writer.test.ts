import { closeFd, createEventFd, drainEventFd } from '@phoenix-ipc/native-shm';
import { PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { afterEach, describe, expect, it } from 'vitest';
import { InFlightTable } from '../src/in-flight-table.js';
import { PendingCallPool } from '../src/pending-call.js';
import { RequestWriter } from '../src/request-writer.js';

const SLOT = 1;
const openFds: number[] = [];

afterEach(() => {
  for (const fd of openFds.splice(0)) closeFd(fd);
});

/** A writer for caller slot 1 of an in-memory segment with one worker, whose doorbell is a real eventfd. */
function writerWithOneWorker() {
  const options = { normalWorkers: 1, vipWorkers: 0, maxClients: 2 };
  const layout = PhoenixShmLayout.format(new SharedArrayBuffer(PhoenixShmLayout.requiredSize(options)), options);
  const doorbell = createEventFd();
  openFds.push(doorbell);
  const pool = new PendingCallPool();
  const writer = new RequestWriter(layout, SLOT, [doorbell], new InFlightTable(layout, SLOT, pool), () => {});
  let seqId = 0;
  const send = () => {
    const call = pool.acquire();
    call.seqId = ++seqId;
    call.funcId = 1001;
    expect(writer.write(call, new Uint8Array(16), 0)).toBe(true);
    writer.flush();
  };
  const parkWorker = () => Atomics.store(layout.views.words, layout.channels[0]!.parkedIndex, 1);
  return { writer, send, parkWorker, doorbell };
}

describe('RequestWriter', () => {
  it('says once that a flush rang a parked worker', () => {
    const { writer, send, parkWorker, doorbell } = writerWithOneWorker();
    parkWorker();
    send();
    expect(drainEventFd(doorbell)).toBe(1);
    expect(writer.takeRangParked()).toBe(true);
    expect(writer.takeRangParked()).toBe(false);
  });

  it('wakes a parked worker on request, once per park, and says so', () => {
    const { writer, parkWorker, doorbell } = writerWithOneWorker();
    parkWorker();
    writer.wake(0);
    writer.wake(0);
    expect(drainEventFd(doorbell)).toBe(1);
    expect(writer.takeRangParked()).toBe(true);
  });

  it('says no ring when the worker was awake', () => {
    const { writer, send, doorbell } = writerWithOneWorker();
    send();
    expect(drainEventFd(doorbell)).toBe(0);
    expect(writer.takeRangParked()).toBe(false);
  });
});
