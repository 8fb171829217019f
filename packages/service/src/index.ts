export { ERROR_CODES, PhoenixError, type PhoenixErrorCode, Priority } from '@phoenix-ipc/client';
export type { RemoteError, ValidationIssue } from '@phoenix-ipc/ringbuffer';
export type { Caller, HandlerHost } from './caller.js';
export type { Codec } from './codec.js';
export { defineService, type MethodDefinition, type Service, type ServiceOptions } from './define-service.js';
export { implement } from './implement.js';
export { JsonCodec, jsonCodec } from './json-codec.js';
export { MsgpackCodec, msgpackCodec } from './msgpack-codec.js';
export type {
  BoundMethod,
  BoundService,
  InputOf,
  MethodHandler,
  MethodSpec,
  MethodTable,
  OutputOf,
  RequiresInput,
  ServiceCallOptions,
  ServiceHandlers,
  ServiceShape,
} from './types.js';
