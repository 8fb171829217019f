import { PhoenixError } from '@phoenix-ipc/shm-layout';
import { describe, expect, it } from 'vitest';
import { rejectionOf } from '../src/reply.js';

// callDecoded's error mapper runs inside the engine's settle: whatever it does, the call must still settle.
describe('what a failed call rejects with', () => {
  const error = new PhoenixError('ERR_PHOENIX_TIMEOUT', 'too slow');

  it('is the error itself without a mapper', () => {
    expect(rejectionOf(null, error)).toBe(error);
  });

  it("is the mapper's value with one", () => {
    const mapped = new Error('mapped');
    expect(rejectionOf(() => mapped, error)).toBe(mapped);
  });

  it('is what the mapper threw, if it throws (it never escapes into the engine)', () => {
    const thrown = new TypeError('mapper broke');
    expect(
      rejectionOf(() => {
        throw thrown;
      }, error),
    ).toBe(thrown);
  });
});
