import type { Handler, RawHandler } from '@phoenix-ipc/server';

/** The func id of the PhoenixIPC echo handler. */
export const ECHO_FUNC_ID = 1001;

/** Echo: copies the request into the reply, both views into shared memory. */
export const echoHandler: Handler = (_header, payload, response, responsePayload) => {
  responsePayload.set(payload);
  response.payloadLen = payload.length;
};

/**
 * The same echo as a raw handler (offsets, no views): what the PhoenixIPC
 * echo workers run, so that serving a request allocates nothing.
 */
export const rawEchoHandler: RawHandler = ({ memory, start, end, reply, replyStart }) => {
  const length = end - start;
  if (length <= 64) {
    // A byte loop: no view object, and as fast as set() at this size.
    for (let i = 0; i < length; i++) reply[replyStart + i] = memory[start + i]!;
  } else {
    reply.set(memory.subarray(start, end), replyStart);
  }
  return length;
};
