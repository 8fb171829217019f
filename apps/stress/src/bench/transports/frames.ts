/**
 * Length-prefixed frames for the Unix-socket benchmark:
 *
 *   0        4        8
 *   +--------+--------+----------------+
 *   | length |   id   | payload ...    |   little-endian u32s; length = payload bytes
 *   +--------+--------+----------------+
 */
export const FRAME_HEADER_BYTES = 8;

export function encodeFrame(id: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(id >>> 0, 4);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Cuts a byte stream into frames; `onFrame` gets a view of each payload (valid until it returns). */
export class FrameReader {
  #pending: Buffer | null = null;
  readonly #onFrame: (id: number, payload: Buffer) => void;

  constructor(onFrame: (id: number, payload: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    const buffer = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    let offset = 0;
    while (buffer.length - offset >= FRAME_HEADER_BYTES) {
      const length = buffer.readUInt32LE(offset);
      const end = offset + FRAME_HEADER_BYTES + length;
      if (end > buffer.length) break;
      this.#onFrame(buffer.readUInt32LE(offset + 4), buffer.subarray(offset + FRAME_HEADER_BYTES, end));
      offset = end;
    }
    this.#pending = offset === buffer.length ? null : buffer.subarray(offset);
  }
}
