import { MsgStatus, PhoenixError } from '@phoenix-ipc/shm-layout';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Reply } from '../src/reply.js';
import { ReplyDeliveries, type ReplyHandler } from '../src/reply-deliveries.js';

// sendInto's outcomes: queued while the reader walks a ring, handed over after it.
describe('ReplyDeliveries', () => {
  afterEach(() => vi.restoreAllMocks());

  const reply = (seqId: number): Reply => ({
    seqId,
    funcId: 1001,
    status: MsgStatus.Completed,
    payloadLen: 0,
    payload: new Uint8Array(0),
  });

  function recorder(log: string[], name: string): ReplyHandler {
    return {
      onReply: (r) => log.push(`${name} reply ${r.seqId}`),
      onError: (e) => log.push(`${name} error ${e.code}`),
    };
  }

  it('hands nothing over until run(), then every outcome in the order added', () => {
    const log: string[] = [];
    const deliveries = new ReplyDeliveries();
    deliveries.add(recorder(log, 'a'), reply(1), null);
    deliveries.add(recorder(log, 'b'), null, new PhoenixError('ERR_PHOENIX_TIMEOUT', 'late'));
    deliveries.add(recorder(log, 'a'), reply(3), null);
    expect(log).toEqual([]);
    expect(deliveries.count).toBe(3);
    deliveries.run();
    expect(log).toEqual(['a reply 1', 'b error ERR_PHOENIX_TIMEOUT', 'a reply 3']);
    expect(deliveries.count).toBe(0);
  });

  it('also hands over what its handlers add meanwhile, once, in the same run', () => {
    const log: string[] = [];
    const deliveries = new ReplyDeliveries();
    const again = recorder(log, 'again');
    deliveries.add(
      {
        onReply: () => {
          log.push('first');
          deliveries.add(again, reply(2), null);
          deliveries.run(); // re-entered from a handler: the outer run takes it
        },
        onError: () => {},
      },
      reply(1),
      null,
    );
    deliveries.run();
    expect(log).toEqual(['first', 'again reply 2']);
    deliveries.run();
    expect(log).toEqual(['first', 'again reply 2']);
  });

  it('goes on past a handler that throws and throws its error again on the next tick', () => {
    const ticks: unknown[][] = [];
    vi.spyOn(process, 'nextTick').mockImplementation(((...args: unknown[]) => {
      ticks.push(args);
    }) as typeof process.nextTick);
    const log: string[] = [];
    const deliveries = new ReplyDeliveries();
    const broken = new Error('handler bug');
    deliveries.add(
      {
        onReply: () => {
          throw broken;
        },
        onError: () => {},
      },
      reply(1),
      null,
    );
    deliveries.add(recorder(log, 'next'), reply(2), null);
    deliveries.run();
    expect(log).toEqual(['next reply 2']);
    expect(ticks).toHaveLength(1);
    const [rethrow, error] = ticks[0] as [(e: unknown) => void, unknown];
    expect(error).toBe(broken);
    expect(() => rethrow(error)).toThrow(broken);
  });
});
