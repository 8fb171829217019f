/** A runner process: runs one benchmark job for bench-main (see bench/runner.ts). */
import { setParentDeathSignal } from '@phoenix-ipc/native-shm';
import { serveOneJob } from '../runner.js';

setParentDeathSignal('SIGKILL');
serveOneJob();
