/**
 * The echo thread of the raw SharedArrayBuffer ping-pong (see sab-rings.ts):
 * copies each request slot into the next response slot until a STOP request.
 */
import { workerData } from 'node:worker_threads';
import { SabRing, type SabWaitMode, SLOT_HEADER_BYTES, STOP_ID } from '../sab-rings.js';

const { buffer, maxPayloadBytes, mode } = workerData as {
  buffer: SharedArrayBuffer;
  maxPayloadBytes: number;
  mode: SabWaitMode;
};
const requests = new SabRing(buffer, 'request', maxPayloadBytes, mode);
const responses = new SabRing(buffer, 'response', maxPayloadBytes, mode);
const words = requests.words;
const bytes = new Uint8Array(buffer);
let head = 0;
let tail = 0;
for (;;) {
  requests.waitReadable(head);
  const input = requests.slot(head);
  const length = words[input >> 2]!;
  const id = words[(input >> 2) + 1]!;
  if (id === STOP_ID) break;
  // The caller keeps at most SLOTS calls outstanding: this reply slot is free.
  const output = responses.slot(tail);
  words[output >> 2] = length;
  words[(output >> 2) + 1] = id;
  bytes.copyWithin(output + SLOT_HEADER_BYTES, input + SLOT_HEADER_BYTES, input + SLOT_HEADER_BYTES + length);
  requests.release(head);
  head = (head + 1) | 0;
  responses.publish(tail);
  tail = (tail + 1) | 0;
}
