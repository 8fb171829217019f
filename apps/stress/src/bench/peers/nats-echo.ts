/**
 * Echo peer of the plain NATS request/reply benchmark (the reference for the
 * bridge): argv[2] is the NATS URL. Subscribes to `bench.echo` and answers
 * each request with its payload, like a handler that returns its input.
 */

import { connect } from '@nats-io/transport-node';
import { setParentDeathSignal } from '@phoenix-ipc/native-shm';
import { NATS_ECHO_SUBJECT } from '../transports/nats.js';

setParentDeathSignal('SIGKILL');
const nc = await connect({ servers: process.argv[2]!, name: 'bench nats-echo' });
nc.subscribe(NATS_ECHO_SUBJECT, {
  callback: (error, msg) => {
    if (error === null) msg.respond(msg.data);
  },
});
await nc.flush();
const leave = async () => {
  await nc.drain().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', () => void leave());
process.on('disconnect', () => void leave());
process.send!({ t: 'ready' });
