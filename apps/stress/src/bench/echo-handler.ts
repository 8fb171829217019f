import type { Handler } from '@phoenix-ipc/server';

/** The func id of the PhoenixIPC echo handler. */
export const ECHO_FUNC_ID = 1001;

/** Echo: copies the request into the reply, both views into shared memory. */
export const echoHandler: Handler = (_header, payload, response, responsePayload) => {
  responsePayload.set(payload);
  response.payloadLen = payload.length;
};
