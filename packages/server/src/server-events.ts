import type { EventEmitter } from 'node:events';
import { rethrowLater } from '@phoenix-ipc/client/internal';

/** How the supervisor's parts tell the application what happened: the IpcServer's events. */
export interface ServerEvents {
  emit(event: 'workerCrash' | 'workerRestart' | 'clientConnected' | 'clientGone', detail: object): void;
}

/**
 * The server's listeners, each announcement isolated. A listener that throws must not stop the part that announced
 * the event halfway: a crashed worker never replaced, a departed client's slot never handed back. Its error reaches
 * the process as an uncaught exception on the next tick, as a `sendInto` handler's does.
 */
export function isolatedListeners(emitter: EventEmitter): ServerEvents {
  return {
    emit(event, detail) {
      try {
        emitter.emit(event, detail);
      } catch (error) {
        rethrowLater(error);
      }
    },
  };
}
