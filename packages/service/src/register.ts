import { PhoenixError } from '@phoenix-ipc/client';
import type { Handler } from '@phoenix-ipc/server';
import type { HandlerHost } from './caller.js';
import type { MethodDefinition } from './define-service.js';

/** One method's handler, ready to register. */
export interface Registration {
  readonly method: MethodDefinition;
  readonly handler: Handler;
}

/**
 * Registers every handler on `server`, or none: a service half registered
 * leaves func ids taken, and a corrected retry of implement() would fail on
 * them. Func ids already taken are found before anything is registered
 * (registeredFuncIds, if the host has it); if a registration fails anyway,
 * those made before it are undone (unregisterHandler, if the host has it).
 */
export function registerAll(server: HandlerHost, service: string, registrations: readonly Registration[]): void {
  const listed = typeof server.registeredFuncIds === 'function' ? server.registeredFuncIds() : undefined;
  if (Array.isArray(listed)) {
    const taken = new Set(listed);
    for (const { method } of registrations) {
      if (taken.has(method.id)) {
        throw new PhoenixError(
          'ERR_PHOENIX_INVALID_ARGUMENT',
          `implement(${service}): func id ${method.id} of ${method.label} already has a handler on this server; ` +
            'none of the service was registered',
          { funcId: method.id },
        );
      }
    }
  }
  const done: number[] = [];
  try {
    for (const { method, handler } of registrations) {
      server.registerHandler(method.id, handler);
      done.push(method.id);
    }
  } catch (error) {
    if (typeof server.unregisterHandler === 'function') {
      for (const id of done) server.unregisterHandler(id);
    }
    throw error;
  }
}
