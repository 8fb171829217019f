import { SharedSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import { afterEach, describe, expect, it } from 'vitest';
import { IpcClient, PhoenixError } from '../src/index.js';

const created: string[] = [];

afterEach(() => {
  for (const name of created.splice(0)) unlinkSegment(name);
});

function uniqueName(tag: string): string {
  return `/phx_client_${tag}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
}

async function rejection(promise: Promise<unknown>): Promise<PhoenixError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(PhoenixError);
    return error as PhoenixError;
  }
  throw new Error('expected a rejection');
}

describe('IpcClient.create', () => {
  it.each([
    ['an empty name', ''],
    ['a name without a leading slash', 'phoenix'],
    ['a name with a second slash', '/a/b'],
    ['a name that is too long', `/${'x'.repeat(300)}`],
  ])('rejects %s with ERR_PHOENIX_INVALID_ARGUMENT', (_label, name) => {
    expect(() => IpcClient.create(name)).toThrow(expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }));
  });

  it('rejects unknown option values', () => {
    const name = uniqueName('opts');
    for (const options of [
      { waitStrategy: 'busy' },
      { onQueueFull: 'drop' },
      { defaultTimeoutMs: -1 },
      { retainFreedMemoryMb: -1 },
      { retainFreedMemoryMb: 1.5 },
      { retainFreedMemoryMb: 4096 },
      { retainFreedMemoryMb: '64' },
      { defaultTimeoutMs: 5n },
      { waitStrategy: 1n },
      { retainFreedMemoryMb: 64n },
      { observer: 1n },
      { unknownOption: 1n },
    ] as unknown as object[]) {
      expect(() => IpcClient.create(name, options)).toThrow(
        expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT' }),
      );
    }
  });

  it('rejects an option it does not know, naming the option and its value', () => {
    expect(() => IpcClient.create(uniqueName('opts'), { waitStrategie: 'spin' } as object)).toThrow(
      expect.objectContaining({
        code: 'ERR_PHOENIX_INVALID_ARGUMENT',
        message: expect.stringMatching(/unknown option waitStrategie \("spin"\)/),
      }),
    );
  });

  it.each([[[]], [null], ['spin'], [5]])('rejects options that are not an object: %j', (options) => {
    expect(() => IpcClient.create(uniqueName('opts'), options as object)).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT', message: expect.stringContaining('options') }),
    );
  });

  it('rejects an observer that is not a function', () => {
    expect(() => IpcClient.create(uniqueName('opts'), { observer: 'log' } as object)).toThrow(
      expect.objectContaining({ code: 'ERR_PHOENIX_INVALID_ARGUMENT', message: expect.stringContaining('observer') }),
    );
  });

  it('takes retainFreedMemoryMb from 0 (malloc left alone) to 2047', () => {
    const name = uniqueName('opts');
    for (const retainFreedMemoryMb of [0, 1, 64, 2047]) {
      expect(IpcClient.create(name, { retainFreedMemoryMb }).getState()).toBe('disconnected');
    }
  });

  it('does not connect: state is disconnected and there is no slot', () => {
    const client = IpcClient.create(uniqueName('idle'));
    expect(client.getState()).toBe('disconnected');
    expect(client.isConnected()).toBe(false);
    expect(client.slot).toBe(-1);
  });
});

describe('IpcClient before it is connected', () => {
  it('rejects call and callAsync with ERR_PHOENIX_NOT_CONNECTED', async () => {
    const client = IpcClient.create(uniqueName('nc'));
    expect((await rejection(client.call(1001, 'x'))).code).toBe('ERR_PHOENIX_NOT_CONNECTED');
    expect((await rejection(client.callAsync(1001, 'x'))).code).toBe('ERR_PHOENIX_NOT_CONNECTED');
  });

  it('throws ERR_PHOENIX_NOT_CONNECTED from callSync', () => {
    const client = IpcClient.create(uniqueName('ncs'));
    expect(() => client.callSync(1001, 'x')).toThrow(expect.objectContaining({ code: 'ERR_PHOENIX_NOT_CONNECTED' }));
  });

  it('checks the func id before anything else', async () => {
    const client = IpcClient.create(uniqueName('fid'));
    expect((await rejection(client.call(5, 'x'))).code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });
});

describe('IpcClient.connect', () => {
  it('times out with ERR_PHOENIX_CONNECT_TIMEOUT when no segment of that name appears', async () => {
    const client = IpcClient.create(uniqueName('missing'));
    const error = await rejection(client.connect(200));
    expect(error.code).toBe('ERR_PHOENIX_CONNECT_TIMEOUT');
    expect(error.message).toMatch(/no segment/);
    expect(client.getState()).toBe('disconnected');
  });

  it('rejects a foreign segment at once with ERR_PHOENIX_BAD_SEGMENT', async () => {
    const name = uniqueName('foreign');
    created.push(name);
    const segment = SharedSegment.open(name, { create: true, exclusive: true, size: 64 * 1024 });
    new Uint8Array(segment.buffer).fill(0xab);
    segment.close();
    const client = IpcClient.create(name);
    // At once: a connect that waited for a segment instead would outlast the test's watchdog.
    const error = await rejection(client.connect(600_000));
    expect(error.code).toBe('ERR_PHOENIX_BAD_SEGMENT');
    expect(error.message).toMatch(/not a PhoenixIPC segment/);
  });

  it('rejects a segment too small to hold a header with ERR_PHOENIX_BAD_SEGMENT', async () => {
    const name = uniqueName('tiny');
    created.push(name);
    const segment = SharedSegment.open(name, { create: true, exclusive: true, size: 16 });
    new Uint8Array(segment.buffer).fill(1);
    segment.close();
    const error = await rejection(IpcClient.create(name).connect(2000));
    expect(error.code).toBe('ERR_PHOENIX_BAD_SEGMENT');
  });

  it('waits for a segment that is still zero and gives up at the deadline', async () => {
    const name = uniqueName('zero');
    created.push(name);
    SharedSegment.open(name, { create: true, exclusive: true, size: 64 * 1024 }).close();
    const error = await rejection(IpcClient.create(name).connect(200));
    expect(error.code).toBe('ERR_PHOENIX_CONNECT_TIMEOUT');
  });

  it('rejects a bad connect timeout', async () => {
    const client = IpcClient.create(uniqueName('to'));
    expect((await rejection(client.connect(-5))).code).toBe('ERR_PHOENIX_INVALID_ARGUMENT');
  });

  it('lets disconnect() cancel a pending connect', async () => {
    const client = IpcClient.create(uniqueName('cancel'));
    const pending = client.connect(5000);
    await client.disconnect();
    expect((await rejection(pending)).code).toBe('ERR_PHOENIX_NOT_CONNECTED');
  });
});
