import { GROUP_NORMAL, monotonicNowMs } from '@phoenix-ipc/shm-layout';
import type { PendingCall } from './pending-call.js';
import { rethrowLater } from './rethrow-later.js';

/** One finished call. The object is reused: copy what you keep beyond the callback. */
export interface CallEvent {
  funcId: number;
  /** 0 normal, 1 VIP. */
  groupId: number;
  /** null on success. */
  code: string | null;
  /** A failure decided here (timeout, abort, crash notice...) rather than a worker's failure reply. */
  local: boolean;
  totalUs: number;
  /** From the worker's reply: time queued before the handler started, and the handler's run time. */
  queueWaitUs: number;
  handlerUs: number;
}

/** Called once per finished call (for metrics). */
export type CallObserver = (event: CallEvent) => void;

/** Reports finished calls to an observer through one reused event object (no allocation per call). */
export class CallEventReporter {
  readonly #event: CallEvent = {
    funcId: 0,
    groupId: GROUP_NORMAL,
    code: null,
    local: false,
    totalUs: 0,
    queueWaitUs: 0,
    handlerUs: 0,
  };

  report(
    observer: CallObserver,
    call: PendingCall,
    code: string | null,
    fromWorker: boolean,
    queueWaitUs: number,
    handlerUs: number,
  ): void {
    const event = this.#event;
    event.funcId = call.funcId;
    event.groupId = call.groupId;
    event.code = code;
    event.local = code !== null && !fromWorker;
    event.totalUs = (monotonicNowMs() - call.startedAt) * 1000;
    event.queueWaitUs = queueWaitUs;
    event.handlerUs = handlerUs;
    try {
      observer(event);
    } catch (thrown) {
      rethrowLater(thrown); // the call's own outcome still goes to its caller
    }
  }
}
