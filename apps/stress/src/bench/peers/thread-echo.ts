/** Echo peer of the worker_threads benchmark: posts every message back as it came. */
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', (message: { i: number; p: Uint8Array }) => parentPort!.postMessage(message));
