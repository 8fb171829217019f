import type { Handler } from '@phoenix-ipc/server';
import type { ServiceCallOptions } from './types.js';

/**
 * Anything a service can be called through: IpcClient, IpcServer (the
 * supervisor's own calls) and NatsCaller (@phoenix-ipc/nats) all have this
 * method. Structural, so this package depends on none of the transports
 * above the client. `payload` is lent for the call: a caller must not use it
 * once the returned promise has settled (its memory is reused).
 */
export interface Caller {
  callAsync(funcId: number, payload: Uint8Array, options?: ServiceCallOptions): Promise<{ payload: Uint8Array }>;
}

/**
 * Anything a service can be implemented on: IpcServer (in every process of a
 * cluster). implement() registers all of a service's methods or none: it
 * checks registeredFuncIds() first, and undoes what it registered with
 * unregisterHandler() if a registration fails (IpcServer has both).
 */
export interface HandlerHost {
  registerHandler(funcId: number, handler: Handler): unknown;
  registeredFuncIds?(): readonly number[];
  unregisterHandler?(funcId: number): unknown;
}
