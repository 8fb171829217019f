import { describe, expect, it } from 'vitest';
import { type ControlMessage, controlSocketName, decodeControlMessage, encodeControlMessage } from '../src/index.js';

describe('control protocol', () => {
  it('round-trips every message kind', () => {
    const messages: ControlMessage[] = [
      { t: 'hello', v: 1, pid: 123 },
      { t: 'welcome', slot: 2, generation: 5, epoch: 9, workers: 6 },
      { t: 'busy', maxClients: 16 },
      { t: 'refused', code: 'ERR_PHOENIX_BUSY', message: 'no' },
      { t: 'failed', seqId: 77, code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'died', details: { workerIndex: 1 } },
      { t: 'worker-down', worker: 3 },
      { t: 'shutdown', reason: 'stop' },
      { t: 'corrupt', worker: 1, message: 'bad ring' },
      { t: 'channel-reset', worker: 1, message: 'bad ring' },
      { t: 'channel-reset-ack', worker: 1 },
      { t: 'channel-ready', worker: 1 },
      { t: 'bye' },
    ];
    for (const message of messages) expect(decodeControlMessage(encodeControlMessage(message))).toEqual(message);
  });

  it('returns null for bytes that are not a control message', () => {
    expect(decodeControlMessage(new Uint8Array([0xff, 0xfe]))).toBeNull();
    expect(decodeControlMessage(new TextEncoder().encode('[1,2]'))).toBeNull();
    expect(decodeControlMessage(new TextEncoder().encode('{"t":5}'))).toBeNull();
    expect(decodeControlMessage(new TextEncoder().encode('null'))).toBeNull();
  });

  const decode = (document: unknown) => decodeControlMessage(new TextEncoder().encode(JSON.stringify(document)));

  it.each([
    ['hello', { t: 'hello', v: '1', pid: 1 }],
    ['hello', { t: 'hello', v: 1 }],
    ['welcome', { t: 'welcome', slot: 1.5, generation: 1, epoch: 1, workers: 2 }],
    ['welcome', { t: 'welcome', slot: -1, generation: 1, epoch: 1, workers: 2 }],
    ['welcome', { t: 'welcome', slot: 1, generation: 1, epoch: 1, workers: '2' }],
    ['welcome', { t: 'welcome', slot: 1, generation: 0.5, epoch: 1, workers: 2 }],
    ['busy', { t: 'busy', maxClients: null }],
    ['refused', { t: 'refused', code: 7, message: 'm' }],
    ['refused', { t: 'refused', code: 'ERR_PHOENIX_BUSY' }],
    ['failed', { t: 'failed', seqId: 'x', code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'm' }],
    ['failed', { t: 'failed', seqId: 2 ** 60, code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'm' }],
    ['failed', { t: 'failed', seqId: 1, code: ['ERR_PHOENIX_WORKER_CRASHED'], message: 'm' }],
    ['failed', { t: 'failed', seqId: 1, code: 'ERR_PHOENIX_WORKER_CRASHED', message: null }],
    ['worker-down', { t: 'worker-down', worker: '0' }],
    ['shutdown', { t: 'shutdown', reason: 1 }],
    ['corrupt', { t: 'corrupt', worker: 0, message: {} }],
    ['channel-reset', { t: 'channel-reset', worker: true, message: 'm' }],
    ['channel-reset-ack', { t: 'channel-reset-ack', worker: 0.5 }],
    ['channel-ready', { t: 'channel-ready' }],
  ])('marks a %s message with a field of the wrong type malformed, for its receiver to drop: %j', (kind, document) => {
    expect(decode(document)).toEqual({ t: 'malformed', kind });
  });

  it("takes a welcome's generation as it is: the slot's word in shared memory, which a broken peer may have written", () => {
    expect(decode({ t: 'welcome', slot: 1, generation: -123_456, epoch: 2, workers: 3 })).toEqual({
      t: 'welcome',
      slot: 1,
      generation: -123_456,
      epoch: 2,
      workers: 3,
    });
  });

  it('keeps only the fields of the kind', () => {
    const text = '{"t":"worker-down","worker":2,"extra":"x","__proto__":{"worker":9}}';
    expect(decodeControlMessage(new TextEncoder().encode(text))).toEqual({ t: 'worker-down', worker: 2 });
  });

  it("gives a code outside the catalogue the kind's generic one", () => {
    expect(decode({ t: 'failed', seqId: 4, code: 'ERR_PHOENIX_FROM_THE_FUTURE', message: 'm' })).toMatchObject({
      code: 'ERR_PHOENIX_WORKER_CRASHED',
    });
    expect(decode({ t: 'refused', code: 'ERR_PHOENIX_FROM_THE_FUTURE', message: 'm' })).toMatchObject({
      code: 'ERR_PHOENIX_UNAVAILABLE',
    });
  });

  it("keeps a crash answer's facts that pass their checks and drops the rest", () => {
    const details = { workerIndex: 1, pid: 'p', signal: 'SIGKILL', group: 'elsewhere', seqId: 9, funcId: -1, x: 1 };
    expect(decode({ t: 'failed', seqId: 9, code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'm', details })).toEqual({
      t: 'failed',
      seqId: 9,
      code: 'ERR_PHOENIX_WORKER_CRASHED',
      message: 'm',
      details: { workerIndex: 1, signal: 'SIGKILL', seqId: 9 },
    });
    for (const garbage of [null, 5, 'text', [1]]) {
      expect(
        decode({ t: 'failed', seqId: 9, code: 'ERR_PHOENIX_WORKER_CRASHED', message: 'm', details: garbage }),
      ).toMatchObject({ details: {} });
    }
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'takes a message whose kind is %s for a kind it does not know, never for a member of Object.prototype',
    (kind) => {
      const bytes = new TextEncoder().encode(`{"t":${JSON.stringify(kind)},"worker":1}`);
      expect(decodeControlMessage(bytes)).toMatchObject({ t: kind, worker: 1 });
    },
  );

  it('passes a kind it does not know on, for its receiver to ignore', () => {
    expect(decode({ t: 'from-a-newer-peer', worker: 'any' })).toEqual({ t: 'from-a-newer-peer', worker: 'any' });
  });

  it('derives a socket name that changes with the supervisor pid, epoch and nonce', () => {
    const base = controlSocketName('/phoenix_shm', 100, 1, 0xabc);
    expect(base).toMatch(/^phoenix-ipc\/[0-9a-f]+\/100\/1\/abc$/);
    expect(controlSocketName('/phoenix_shm', 101, 1, 0xabc)).not.toBe(base);
    expect(controlSocketName('/phoenix_shm', 100, 2, 0xabc)).not.toBe(base);
    expect(controlSocketName('/other', 100, 1, 0xabc)).not.toBe(base);
  });
});
