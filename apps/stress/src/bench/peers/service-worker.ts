/** A worker of the typed-service benchmark: the raw echo (func id 1001) and the bench service. argv[2]: segment name. */
import { IpcServer } from '@phoenix-ipc/server';
import { implement } from '@phoenix-ipc/service';
import { ECHO_FUNC_ID, echoHandler } from '../echo-handler.js';
import { benchService } from '../service-definition.js';

const server = await IpcServer.create(process.argv[2]!);
server.registerHandler(ECHO_FUNC_ID, echoHandler);
implement(server, benchService, {
  record: ({ id, name, tags }) => ({ id, name, tags }),
  bytes: ({ data }) => ({ data }),
});
await server.start();
