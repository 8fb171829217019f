/**
 * Byte map of a PhoenixIPC segment. Every length is recorded in the header,
 * and attach() recomputes all of them from the recorded configuration and
 * checks them against the header and the mapping before any other read.
 *
 *  +------------------------------+ 0
 *  | Segment header (512 B)       |  identity, configuration, geometry, seq-id
 *  |                              |  counter, supervisor liveness
 *  +------------------------------+ WORKERS_OFFSET = 512
 *  | Worker records               |  normalWorkers + vipWorkers records,
 *  |  (WORKER_RECORD_BYTES each)  |  normal first; each ends with its
 *  |                              |  `concurrency` ThreadMonitor records
 *  +------------------------------+ SLOTS_OFFSET
 *  | Caller slots                 |  1 + maxClients + spares records; slot 0 is
 *  |  (SLOT_RECORD_BYTES each)    |  the supervisor's own, 1.. client processes
 *  +------------------------------+ RINGS_OFFSET
 *  | Ring pairs, per slot:        |  for slot s, worker w: a request ring
 *  |  slot 0: w0 w1 .. wN-1 v0 ..  |  (caller produces, worker consumes) then
 *  |  slot 1: ...                 |  a response ring (worker produces, caller
 *  |  (SLOT_STRIDE bytes a slot)  |  consumes). Every ring has one producer
 *  +------------------------------+  process and one consumer process.
 *
 * Segment header
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+  line 0: identity and configuration
 *  |                    MAGIC 0x50484E58 ("PHNX")                  |  0
 *  |        VERSION (written last by format: 0 = not ready)        |  4
 *  |                         HEADER_BYTES                          |  8
 *  |                         TOTAL_BYTES                           |  12
 *  |  NORMAL_WORKERS  |  VIP_WORKERS  |  NORMAL_QUEUE_CAPACITY  ... |  16 20 24
 *  |  VIP_QUEUE_CAPACITY | MAX_PAYLOAD_BYTES | MAX_CLIENTS          |  28 32 36
 *  |  CONCURRENCY | HANG_TIMEOUT_MS | WAIT_STRATEGY | FLAGS          |  40 44 48 52
 *  |  NORMAL_RING_DATA_BYTES | VIP_RING_DATA_BYTES                  |  56 60
 *  +---------------------------------------------------------------+  line 1: geometry and ownership
 *  |  WORKER_RECORD_BYTES | SLOT_RECORD_BYTES | WORKERS_OFFSET      |  64 68 72
 *  |  SLOTS_OFFSET | RINGS_OFFSET | SLOT_STRIDE                     |  76 80 84
 *  |  NORMAL_PAIR_BYTES | VIP_PAIR_BYTES | EPOCH | SUPERVISOR_PID    |  88 92 96 100
 *  |  CONTROL_NONCE | reserved | SUPERVISOR_START_TIME (f64)        |  104 108 112
 *  |  HEADER_CHECKSUM (FNV-1a of words 0..29 but VERSION)           |  120
 *  +---------------------------------------------------------------+  line 2: 128
 *  |  SEQ_BLOCK (callers Atomics.add 1 to reserve 1024 seq ids)     |
 *  +---------------------------------------------------------------+  line 3: 192, supervisor-written
 *  |  SUPERVISOR_STATE | HEARTBEAT | SLOT_EPOCH | WORKER_EPOCH      |  192 196 200 204
 *  |  HEARTBEAT_AT (f64 CLOCK_MONOTONIC ms)                         |  208
 *  +---------------------------------------------------------------+  512
 */
export const SEGMENT_MAGIC = 0x50484e58; // "PHNX"
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 512;

export const MAGIC_OFFSET = 0;
export const VERSION_OFFSET = 4;
export const HEADER_BYTES_OFFSET = 8;
export const TOTAL_BYTES_OFFSET = 12;
export const NORMAL_WORKERS_OFFSET = 16;
export const VIP_WORKERS_OFFSET = 20;
export const NORMAL_QUEUE_CAPACITY_OFFSET = 24;
export const VIP_QUEUE_CAPACITY_OFFSET = 28;
export const MAX_PAYLOAD_BYTES_OFFSET = 32;
export const MAX_CLIENTS_OFFSET = 36;
export const CONCURRENCY_OFFSET = 40;
export const HANG_TIMEOUT_MS_OFFSET = 44;
export const WAIT_STRATEGY_OFFSET = 48;
export const FLAGS_OFFSET = 52;
export const NORMAL_RING_DATA_BYTES_OFFSET = 56;
export const VIP_RING_DATA_BYTES_OFFSET = 60;
export const WORKER_RECORD_BYTES_OFFSET = 64;
export const SLOT_RECORD_BYTES_OFFSET = 68;
export const WORKERS_OFFSET_OFFSET = 72;
export const SLOTS_OFFSET_OFFSET = 76;
export const RINGS_OFFSET_OFFSET = 80;
export const SLOT_STRIDE_OFFSET = 84;
export const NORMAL_PAIR_BYTES_OFFSET = 88;
export const VIP_PAIR_BYTES_OFFSET = 92;
export const EPOCH_OFFSET = 96;
export const SUPERVISOR_PID_OFFSET = 100;
export const CONTROL_NONCE_OFFSET = 104;
export const SUPERVISOR_START_TIME_OFFSET = 112;
export const HEADER_CHECKSUM_OFFSET = 120;
/** The checksum covers the words before it. */
export const CHECKSUMMED_WORDS = HEADER_CHECKSUM_OFFSET >> 2;

export const SEQ_BLOCK_OFFSET = 128;
export const SEQ_BLOCK_SIZE = 1024;

export const SUPERVISOR_STATE_OFFSET = 192;
export const HEARTBEAT_OFFSET = 196;
export const SLOT_EPOCH_OFFSET = 200;
export const WORKER_EPOCH_OFFSET = 204;
export const HEARTBEAT_AT_OFFSET = 208;

/** SUPERVISOR_STATE values. */
export const SupervisorState = {
  Starting: 0,
  Running: 1,
  Stopping: 2,
  Stopped: 3,
  /** A newer supervisor took the name over; this segment is dead. */
  Retired: 4,
} as const;
export type SupervisorState = (typeof SupervisorState)[keyof typeof SupervisorState];

/**
 * Worker record (WORKER_RECORD_BYTES = 256 + concurrency * 64)
 *
 *  +---------------------------------------------------------------+  0 line 0, supervisor-written
 *  |  STATE | PID | GENERATION | CRASHES | RESTARTS | GROUP | INDEX |  0 4 8 12 16 20 24
 *  |  RESTART_AT (f64 ms, 0 = none) | PID_START_TIME (f64 ticks)    |  32 40
 *  +---------------------------------------------------------------+  64 line 1, callers (Atomics.add)
 *  |  PENDING: requests sent to this worker and not yet answered   |
 *  +---------------------------------------------------------------+  128 line 2, worker-written
 *  |  PARKED (1 = asleep on its doorbell; a producer CASes 1 -> 0   |
 *  |  and rings it) | HEARTBEAT                                     |  128 132
 *  +---------------------------------------------------------------+  256
 *  |  ThreadMonitor[concurrency] (64 bytes each)                   |
 *  +---------------------------------------------------------------+
 */
export const WORKER_STATE_OFFSET = 0;
export const WORKER_PID_OFFSET = 4;
export const WORKER_GENERATION_OFFSET = 8;
export const WORKER_CRASHES_OFFSET = 12;
export const WORKER_RESTARTS_OFFSET = 16;
export const WORKER_GROUP_OFFSET = 20;
export const WORKER_INDEX_OFFSET = 24;
export const WORKER_RESTART_AT_OFFSET = 32;
export const WORKER_PID_START_TIME_OFFSET = 40;
export const WORKER_PENDING_OFFSET = 64;
export const WORKER_PARKED_OFFSET = 128;
export const WORKER_HEARTBEAT_OFFSET = 132;
export const WORKER_MONITORS_OFFSET = 256;

/** Worker STATE values. */
export const WorkerState = {
  Empty: 0,
  Starting: 1,
  Running: 2,
  /** Dead; a replacement will start (after backoff). Requests queue for it. */
  Restarting: 3,
  /** Crash-looping: left down until restartWorkers(). */
  Down: 4,
  Stopped: 5,
  /** Finishing its queue before being replaced (recycle, hot reload). */
  Retiring: 6,
} as const;
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

/**
 * Caller slot record (SLOT_RECORD_BYTES = 128 + align64(8 * workers))
 *
 *  +---------------------------------------------------------------+  0 line 0, supervisor-written
 *  |  STATE (FREE/ACTIVE/DRAINING) | GENERATION | PID | reserved    |  0 4 8 12
 *  |  PID_START_TIME (f64)                                          |  16
 *  +---------------------------------------------------------------+  64 line 1, caller-written
 *  |  PARKED (1 = the caller sleeps on its doorbell)                |
 *  +---------------------------------------------------------------+  128
 *  |  ACK[workers]: generation each worker detached from (draining) |
 *  |  OUTSTANDING[workers]: the caller's unanswered requests        |
 *  +---------------------------------------------------------------+
 */
export const SLOT_STATE_OFFSET = 0;
export const SLOT_GENERATION_OFFSET = 4;
export const SLOT_PID_OFFSET = 8;
export const SLOT_PID_START_TIME_OFFSET = 16;
export const SLOT_PARKED_OFFSET = 64;
export const SLOT_ACKS_OFFSET = 128;

export const SlotState = {
  Free: 0,
  Active: 1,
  /** Its caller is gone; workers detach from it, then the supervisor frees it. */
  Draining: 2,
} as const;
export type SlotState = (typeof SlotState)[keyof typeof SlotState];

export const SUPERVISOR_SLOT = 0;

export const WaitStrategyCode = { adaptive: 0, spin: 1, block: 2 } as const;
export type WaitStrategy = keyof typeof WaitStrategyCode;
