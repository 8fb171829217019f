// Decoding a reply copies its binary values out of shared memory. A big copy
// is fresh external memory to V8, which the client is told about (its
// reply-memory-gc.ts decides what to do, once per process; the effect is tested
// with real processes in packages/server/test/big-replies-gc.test.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';

const noted = vi.hoisted(() => [] as number[]);
vi.mock('@phoenix-ipc/client/internal', async (original) => ({
  ...(await original<typeof import('@phoenix-ipc/client/internal')>()),
  noteFreshReplyMemory: (length: number) => noted.push(length),
}));

const { MsgpackCodec } = await import('../src/msgpack-codec.js');
const { replyMemory } = await import('@phoenix-ipc/client/internal');
const codec = new MsgpackCodec();

afterEach(() => {
  noted.length = 0;
});

/** The value's encoding, decoded the way a reply is (from memory that is reused afterwards). */
function decodeReply(value: unknown): unknown {
  const bytes = codec.encode(value);
  const memory = new Uint8Array(new SharedArrayBuffer(bytes.length + 8));
  memory.set(bytes, 8);
  return codec.decodeFrom(memory, 8, 8 + bytes.length);
}

describe('decoding a reply with binary values', () => {
  it('notes each binary value it copies into memory of its own, with its size', () => {
    const value = decodeReply({ id: 7, image: new Uint8Array(65536).fill(3) }) as { image: Uint8Array };
    expect(value.image).toHaveLength(65536);
    expect(noted).toContain(65536);
  });

  it('notes the copy it decodes from when the value is not plain msgpack (a Map holding bytes)', () => {
    const value = decodeReply(new Map([['image', new Uint8Array(65536).fill(5)]])) as Map<string, Uint8Array>;
    expect(value.get('image')).toHaveLength(65536);
    expect(Math.max(...noted)).toBeGreaterThanOrEqual(65536);
  });

  it('notes nothing for a reply without binary values', () => {
    decodeReply({ id: 7, name: 'x'.repeat(10_000), tags: ['a', 'b'] });
    expect(noted).toHaveLength(0);
  });

  it('copies big binary values of one size into the memory the client readied while it waited, each its own', () => {
    const decode = (fill: number) =>
      (decodeReply({ id: fill, image: new Uint8Array(65536).fill(fill) }) as { image: Uint8Array }).image;
    const images = [decode(1), decode(2)];
    replyMemory.prepare(); // what a caller engine does before it waits for a reply
    expect(replyMemory.readiedBytes).toBe(65536);
    images.push(decode(3));
    expect(replyMemory.readiedBytes).toBe(0);
    expect(images.map((image, i) => image.every((byte) => byte === i + 1))).toEqual([true, true, true]);
    expect(new Set(images.map((image) => image.buffer)).size).toBe(3);
  });
});
