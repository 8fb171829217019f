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

  it('derives a socket name that changes with the supervisor pid, epoch and nonce', () => {
    const base = controlSocketName('/phoenix_shm', 100, 1, 0xabc);
    expect(base).toMatch(/^phoenix-ipc\/[0-9a-f]+\/100\/1\/abc$/);
    expect(controlSocketName('/phoenix_shm', 101, 1, 0xabc)).not.toBe(base);
    expect(controlSocketName('/phoenix_shm', 100, 2, 0xabc)).not.toBe(base);
    expect(controlSocketName('/other', 100, 1, 0xabc)).not.toBe(base);
  });
});
