/**
 * Byte layout of a worker record: one per worker (normal workers first, then
 * VIP), WORKER_RECORD_BYTES = 256 + concurrency x 64 bytes. Each cache line
 * has one kind of writer. One field per row; offsets in bytes.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+  0  line 0: supervisor-written
 *  |                     STATE (WorkerState)                       |
 *  |                 PID (of the serving process)                  |  4
 *  |           GENERATION (bumped at every spawn)                  |  8
 *  |                          CRASHES                              |  12
 *  |                          RESTARTS                             |  16
 *  |                  GROUP (0 normal, 1 VIP)                      |  20
 *  |                 INDEX (0-based within the group)              |  24
 *  |           reserved (aligns the f64 below to 8 bytes)          |  28
 *  |       RESTART_AT (f64, CLOCK_MONOTONIC ms; 0 = none due)      |  32
 *  |                                                               |
 *  |        PID_START_TIME (f64, clock ticks since boot)           |  40
 *  |                                                               |
 *  +---------------------------------------------------------------+  64 line 1: callers (Atomics.add)
 *  |   PENDING (requests sent to this worker, not yet answered)    |
 *  +---------------------------------------------------------------+  128 line 2: worker-written
 *  | PARKED (1 = asleep on its doorbell; a producer CASes 1 -> 0   |
 *  |          and rings it)                                        |
 *  +---------------------------------------------------------------+  192 line 3: reserved
 *  +---------------------------------------------------------------+  256
 *  |             ThreadMonitor[concurrency] (64 bytes each)        |
 *  +---------------------------------------------------------------+
 */

const WORD = 4;
const CACHE_LINE = 64;

// Line 0: supervisor-written.
export const WORKER_STATE_OFFSET = 0;
export const WORKER_PID_OFFSET = WORKER_STATE_OFFSET + WORD;
export const WORKER_GENERATION_OFFSET = WORKER_PID_OFFSET + WORD;
export const WORKER_CRASHES_OFFSET = WORKER_GENERATION_OFFSET + WORD;
export const WORKER_RESTARTS_OFFSET = WORKER_CRASHES_OFFSET + WORD;
export const WORKER_GROUP_OFFSET = WORKER_RESTARTS_OFFSET + WORD;
export const WORKER_INDEX_OFFSET = WORKER_GROUP_OFFSET + WORD;
const ALIGNMENT_PAD_OFFSET = WORKER_INDEX_OFFSET + WORD;
export const WORKER_RESTART_AT_OFFSET = ALIGNMENT_PAD_OFFSET + WORD;
export const WORKER_PID_START_TIME_OFFSET = WORKER_RESTART_AT_OFFSET + 2 * WORD;
// Line 1: callers count what they send here.
export const WORKER_PENDING_OFFSET = CACHE_LINE;
// Line 2: the worker's own doorbell flag.
export const WORKER_PARKED_OFFSET = 2 * CACHE_LINE;
// The monitors, one cache line each.
export const WORKER_MONITORS_OFFSET = 4 * CACHE_LINE;

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

/** GROUP values (the same ids the monitor records carry). */
export { GROUP_NORMAL, GROUP_VIP } from '@phoenix-ipc/monitor';
