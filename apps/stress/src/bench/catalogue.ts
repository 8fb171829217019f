import type { WaitStrategy } from '@phoenix-ipc/client';

/** Every transport the benchmark knows, in the order of the table. */
export interface TransportSpec {
  id: string;
  label: string;
  kind: 'process' | 'thread';
  /** A spinning transport holds a core while connected: its idle window is kept short. */
  spins: boolean;
}

export const STRATEGIES: readonly WaitStrategy[] = ['adaptive', 'spin', 'block'];

export const TRANSPORTS: readonly TransportSpec[] = [
  ...STRATEGIES.map((strategy) => ({
    id: `phoenix-client-${strategy}`,
    label: `PhoenixIPC client→worker, ${strategy}`,
    kind: 'process' as const,
    spins: strategy === 'spin',
  })),
  ...STRATEGIES.map((strategy) => ({
    id: `phoenix-supervisor-${strategy}`,
    label: `PhoenixIPC supervisor→worker, ${strategy}`,
    kind: 'process' as const,
    spins: strategy === 'spin',
  })),
  { id: 'fork-json', label: "child_process.fork IPC, 'json' (payload base64)", kind: 'process', spins: false },
  { id: 'fork-advanced', label: "child_process.fork IPC, 'advanced' (Uint8Array)", kind: 'process', spins: false },
  { id: 'unix-socket', label: 'Unix domain socket, length-prefixed frames', kind: 'process', spins: false },
  { id: 'worker-threads', label: 'worker_threads postMessage (threads, reference)', kind: 'thread', spins: false },
  { id: 'piscina', label: 'piscina, 1 thread (reference)', kind: 'thread', spins: false },
  { id: 'workerpool', label: 'workerpool, process mode, 1 worker', kind: 'process', spins: false },
  { id: 'js-sab-spin', label: 'raw JS rings over SharedArrayBuffer, busy-spin (threads)', kind: 'thread', spins: true },
  {
    id: 'js-sab-wait',
    label: 'raw JS rings over SharedArrayBuffer, Atomics.wait/notify (threads)',
    kind: 'thread',
    spins: false,
  },
  { id: 'c-spin', label: 'C, two processes, POSIX shm rings, busy-spin', kind: 'process', spins: true },
  { id: 'c-eventfd', label: 'C, two processes, POSIX shm rings, eventfd', kind: 'process', spins: false },
  {
    id: 'nats-echo',
    label: 'NATS request/reply echo (nats.js; the bridge is judged against it)',
    kind: 'process',
    spins: false,
  },
  { id: 'nats-phoenix', label: 'PhoenixIPC over NATS: NatsCaller→bridge→worker', kind: 'process', spins: false },
];

/** The plain NATS echo the bridge (nats-phoenix) is judged against. */
export const NATS_REFERENCE = 'nats-echo';

/** The reference every ratio is taken against. */
export const PHOENIX_REFERENCE = 'phoenix-client-adaptive';
/** The physical limit (ratios "×C"). */
export const C_LIMIT = 'c-spin';
