import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createSegmentViews,
  Frames,
  HOST_IS_LITTLE_ENDIAN,
  isApplicationFuncId,
  kInvalidSeqId,
  MAX_FUNC_ID,
  MIN_APPLICATION_FUNC_ID,
  MSG_HEADER_BYTES,
  MsgHeader,
  MsgStatus,
  Priority,
  REQUEST_FRAME_BYTES,
  RESPONSE_FRAME_BYTES,
  RequestState,
} from '../src/index.js';
import { RESPONSE_RESERVED_OFFSET } from '../src/protocol.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('MsgHeader', () => {
  it('is 16 bytes', () => {
    expect(MSG_HEADER_BYTES).toBe(16);
    expect(MsgHeader.BYTES).toBe(16);
    expect(new MsgHeader(1).encode()).toHaveLength(16);
  });

  it('writes seqId u64, funcId u32, payloadLen u32, little-endian', () => {
    const header = new MsgHeader(0x0001_0203_0405_0607, 0x0a0b0c0d, 0x11223344);
    expect(hex(header.encode())).toBe('07060504030201000d0c0b0a44332211');
  });

  it('writes the largest safe seq id, 2^53-1, as ff ff ff ff ff ff 1f 00', () => {
    expect(hex(new MsgHeader(Number.MAX_SAFE_INTEGER, 0xffffffff, 0).encode())).toBe(
      'ffffffffffff1f00ffffffff00000000',
    );
  });

  it('reads back what it wrote', () => {
    const header = MsgHeader.readFrom(new MsgHeader(2 ** 40 + 3, 1001, 512).encode());
    expect([header.seqId, header.funcId, header.payloadLen]).toEqual([2 ** 40 + 3, 1001, 512]);
  });

  it('round-trips any seq id up to 2^53-1 and any u32 func id and length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (seqId, funcId, payloadLen) => {
          const read = MsgHeader.readFrom(new MsgHeader(seqId, funcId, payloadLen).encode());
          expect([read.seqId, read.funcId, read.payloadLen]).toEqual([seqId, funcId, payloadLen]);
        },
      ),
      { numRuns: 2000, seed: 1 },
    );
  });

  it('reads the bytes a little-endian peer wrote by hand', () => {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, 123_456_789_012_345n, true);
    view.setUint32(8, 4242, true);
    view.setUint32(12, 77, true);
    const header = MsgHeader.readFrom(bytes);
    expect([header.seqId, header.funcId, header.payloadLen]).toEqual([123_456_789_012_345, 4242, 77]);
  });

  it('reads a seq id no writer can reach (2^53 and beyond) as kInvalidSeqId: seqId stays a safe integer', () => {
    for (const garbage of [
      new Uint8Array(16).fill(0xff),
      (() => {
        const bytes = new Uint8Array(16);
        new DataView(bytes.buffer).setBigUint64(0, 2n ** 53n, true);
        return bytes;
      })(),
    ]) {
      const header = MsgHeader.readFrom(garbage);
      expect(header.seqId).toBe(kInvalidSeqId);
      expect(header.isValid()).toBe(false);
    }
    const largest = new Uint8Array(16);
    new DataView(largest.buffer).setBigUint64(0, 2n ** 53n - 1n, true);
    expect(MsgHeader.readFrom(largest).seqId).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('writes and reads at an offset inside a view that itself has a byteOffset', () => {
    const backing = new Uint8Array(64).fill(0xaa);
    const view = backing.subarray(8, 48);
    new MsgHeader(5, 6, 7).writeTo(view, 4);
    expect(hex(backing.subarray(12, 28))).toBe('05000000000000000600000007000000');
    expect(backing[11]).toBe(0xaa);
    expect(backing[28]).toBe(0xaa);
    expect(MsgHeader.readFrom(view, 4)).toEqual(new MsgHeader(5, 6, 7));
  });

  it('defaults to seq id 0 (invalid), func id 0 and an empty payload', () => {
    expect(new MsgHeader()).toEqual(new MsgHeader(kInvalidSeqId, 0, 0));
  });

  it('isValid() is false for seq id 0', () => {
    expect(new MsgHeader(0, 1001, 0).isValid()).toBe(false);
  });

  it.each([1, 2 ** 32, Number.MAX_SAFE_INTEGER])('isValid() is true for seq id %d', (seqId) => {
    expect(new MsgHeader(seqId).isValid()).toBe(true);
  });

  it.each([-1, 1.5, 2 ** 53, Number.NaN])('isValid() is false for seq id %d', (seqId) => {
    expect(new MsgHeader(seqId).isValid()).toBe(false);
  });
});

describe('protocol constants', () => {
  it('kInvalidSeqId is 0', () => {
    expect(kInvalidSeqId).toBe(0);
  });

  it('Priority: Low = Normal = 0, High = Vip = 1', () => {
    expect(Priority).toEqual({ Low: 0, Normal: 0, High: 1, Vip: 1 });
  });

  it('MsgStatus: Pending 0, Processing 1, Completed 2, Failed 3', () => {
    expect(MsgStatus).toEqual({ Pending: 0, Processing: 1, Completed: 2, Failed: 3 });
  });

  it('RequestState: Pending 0, Taken 1, Cancelled 2, Moved 3, Done 4, Failed 5', () => {
    expect(RequestState).toEqual({ Pending: 0, Taken: 1, Cancelled: 2, Moved: 3, Done: 4, Failed: 5 });
  });

  it('frames are 32 bytes before the payload', () => {
    expect(REQUEST_FRAME_BYTES).toBe(40);
    expect(RESPONSE_FRAME_BYTES).toBe(32);
  });

  it('this host is little-endian', () => {
    expect(HOST_IS_LITTLE_ENDIAN).toBe(true);
  });
});

describe('isApplicationFuncId', () => {
  it.each([1001, 1002, 65_536, 2 ** 32 - 1])('accepts %d', (funcId) => {
    expect(isApplicationFuncId(funcId)).toBe(true);
  });

  it.each([1000, 1, 0, -1, 2 ** 32, 1.5, 1001.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d', (funcId) => {
    expect(isApplicationFuncId(funcId)).toBe(false);
  });

  it.each(['1001', null, undefined, 1001n])('rejects the non-number %o', (funcId) => {
    expect(isApplicationFuncId(funcId)).toBe(false);
  });

  it('has its bounds exported', () => {
    expect([MIN_APPLICATION_FUNC_ID, MAX_FUNC_ID]).toEqual([1001, 0xffffffff]);
  });
});

describe('Frames', () => {
  const views = () => createSegmentViews(new SharedArrayBuffer(256));

  it('writes a request frame: PENDING, attempt 1, the wire header at +8, the deadline at +24', () => {
    const v = views();
    Frames.writeRequestFrame(v, 64, 2 ** 33 + 1, 4000, 12, 98_765.5);
    expect(Atomics.load(v.words, Frames.requestStateIndex(64))).toBe(RequestState.Pending);
    expect(Frames.requestAttempt(v.words, 64)).toBe(1);
    expect(Frames.requestSeqId(v.words, 64)).toBe(2 ** 33 + 1);
    expect(Frames.requestFuncId(v.words, 64)).toBe(4000);
    expect(Frames.requestPayloadLen(v.words, 64)).toBe(12);
    expect(Frames.requestDeadline(v.doubles, 64)).toBe(98_765.5);
    expect(MsgHeader.readFrom(v.bytes, 64 + 8)).toEqual(new MsgHeader(2 ** 33 + 1, 4000, 12));
  });

  it('reads a func id above 2^31 as unsigned', () => {
    const v = views();
    Frames.writeRequestFrame(v, 0, 1, 0xfffffff0, 0, 0);
    expect(Frames.requestFuncId(v.words, 0)).toBe(0xfffffff0);
  });

  it('setRequestAttempt changes only the attempt', () => {
    const v = views();
    Frames.writeRequestFrame(v, 0, 9, 1001, 0, 0);
    Frames.setRequestAttempt(v.words, 0, 3);
    expect(Frames.requestAttempt(v.words, 0)).toBe(3);
    expect(Frames.requestSeqId(v.words, 0)).toBe(9);
  });

  it('writes a response frame: the wire header, error flag and timings; the reserved word is 0', () => {
    const v = views();
    v.words.fill(-1);
    Frames.writeResponseFrame(v.words, 128, Number.MAX_SAFE_INTEGER, 1001, 40, true, 1500, 250);
    expect(MsgHeader.readFrom(v.bytes, 128)).toEqual(new MsgHeader(Number.MAX_SAFE_INTEGER, 1001, 40));
    expect(Frames.responseSeqId(v.words, 128)).toBe(Number.MAX_SAFE_INTEGER);
    expect(Frames.responseFuncId(v.words, 128)).toBe(1001);
    expect(Frames.responsePayloadLen(v.words, 128)).toBe(40);
    expect(v.words[(128 + RESPONSE_RESERVED_OFFSET) >> 2]).toBe(0);
    expect(Frames.responseIsError(v.words, 128)).toBe(true);
    expect(Frames.responseQueueWaitUs(v.words, 128)).toBe(1500);
    expect(Frames.responseHandlerUs(v.words, 128)).toBe(250);
  });

  it('writes a successful response with the error flag clear', () => {
    const v = views();
    Frames.writeResponseFrame(v.words, 0, 1, 1001, 0, false, 0, 0);
    expect(Frames.responseIsError(v.words, 0)).toBe(false);
  });
});
