/** A PhoenixIPC echo worker (spawned by peers/phoenix-server). argv[2] is the segment name. */
import { IpcServer } from '@phoenix-ipc/server';
import { ECHO_FUNC_ID, echoHandler } from '../echo-handler.js';

const server = await IpcServer.create(process.argv[2]!);
server.registerHandler(ECHO_FUNC_ID, echoHandler);
await server.start();
