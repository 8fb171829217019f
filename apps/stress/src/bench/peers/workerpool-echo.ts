/** Worker of the workerpool (process mode) benchmark: echo of a base64 payload, and its pid. */
import { setParentDeathSignal } from '@phoenix-ipc/native-shm';
import workerpool from 'workerpool';

setParentDeathSignal('SIGKILL');
workerpool.worker({
  echo: (payload: string) => Buffer.from(payload, 'base64').toString('base64'),
  pid: () => process.pid,
});
