/**
 * Byte layout of the segment header: the first 512 bytes of every PhoenixIPC
 * segment. Identity, configuration and geometry are written once by the
 * supervisor (format); attach() recomputes the geometry from the recorded
 * configuration and checks every word below HEADER_CHECKSUM against it (see
 * header-codec.ts). One field per row; offsets in bytes.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+  0  line 0: identity and configuration
 *  |                   MAGIC 0x50484E58 ("PHNX")                   |
 *  |        VERSION (written last by format: 0 = not ready)        |  4
 *  |                    HEADER_BYTES (512)                         |  8
 *  |                 TOTAL_BYTES (the whole segment)               |  12
 *  |                       NORMAL_WORKERS                          |  16
 *  |                        VIP_WORKERS                            |  20
 *  |                  NORMAL_QUEUE_CAPACITY                        |  24
 *  |                   VIP_QUEUE_CAPACITY                          |  28
 *  |                    MAX_PAYLOAD_BYTES                          |  32
 *  |                       MAX_CLIENTS                             |  36
 *  |                       CONCURRENCY                             |  40
 *  |                     HANG_TIMEOUT_MS                           |  44
 *  |                WAIT_STRATEGY (WaitStrategyCode)               |  48
 *  |                    reserved (always 0)                        |  52
 *  |                 NORMAL_RING_DATA_BYTES                        |  56
 *  |                   VIP_RING_DATA_BYTES                         |  60
 *  +---------------------------------------------------------------+  64 line 1: geometry and ownership
 *  |                  WORKER_RECORD_BYTES                          |
 *  |                   SLOT_RECORD_BYTES                           |  68
 *  |                    WORKERS_OFFSET                             |  72
 *  |                     SLOTS_OFFSET                              |  76
 *  |                     RINGS_OFFSET                              |  80
 *  |                  SLOT_STRIDE (bytes a slot)                   |  84
 *  |                   NORMAL_PAIR_BYTES                           |  88
 *  |                    VIP_PAIR_BYTES                             |  92
 *  |                         EPOCH                                 |  96
 *  |                    SUPERVISOR_PID                             |  100
 *  |             CONTROL_NONCE (names the control socket)          |  104
 *  |           reserved (aligns the f64 below to 8 bytes)          |  108
 *  |          SUPERVISOR_START_TIME (f64, clock ticks)             |  112
 *  |                                                               |
 *  |   HEADER_CHECKSUM (FNV-1a of the words before it, but VERSION) |  120
 *  +---------------------------------------------------------------+  128 line 2: every caller adds to it
 *  |     SEQ_BLOCK (Atomics.add 1 reserves SEQ_BLOCK_SIZE seq ids)  |
 *  +---------------------------------------------------------------+  192 line 3: supervisor-written
 *  |              SUPERVISOR_STATE (SupervisorState)               |
 *  |          HEARTBEAT (counter, bumped every heartbeat)          |  196
 *  |   SLOT_EPOCH (bumped on every slot change; workers re-read)   |  200
 *  |         WORKER_EPOCH (bumped on every worker change)          |  204
 *  |          HEARTBEAT_AT (f64, CLOCK_MONOTONIC ms)               |  208
 *  |                                                               |
 *  |     NORMAL_SPARES_READY (warm spare workers, normal group)    |  216
 *  |        VIP_SPARES_READY (warm spare workers, VIP group)       |  220
 *  +---------------------------------------------------------------+  224 .. 512 reserved
 *
 * SEQ_BLOCK and the supervisor's line each sit on a cache line of their own:
 * callers write the first, the supervisor the second, nobody else either.
 */

const WORD = 4;
const DOUBLE = 8;
const CACHE_LINE = 64;

export const SEGMENT_MAGIC = 0x50484e58; // "PHNX"
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 8 * CACHE_LINE;

// Line 0: identity and configuration.
export const MAGIC_OFFSET = 0;
export const VERSION_OFFSET = MAGIC_OFFSET + WORD;
export const HEADER_BYTES_OFFSET = VERSION_OFFSET + WORD;
export const TOTAL_BYTES_OFFSET = HEADER_BYTES_OFFSET + WORD;
export const NORMAL_WORKERS_OFFSET = TOTAL_BYTES_OFFSET + WORD;
export const VIP_WORKERS_OFFSET = NORMAL_WORKERS_OFFSET + WORD;
export const NORMAL_QUEUE_CAPACITY_OFFSET = VIP_WORKERS_OFFSET + WORD;
export const VIP_QUEUE_CAPACITY_OFFSET = NORMAL_QUEUE_CAPACITY_OFFSET + WORD;
export const MAX_PAYLOAD_BYTES_OFFSET = VIP_QUEUE_CAPACITY_OFFSET + WORD;
export const MAX_CLIENTS_OFFSET = MAX_PAYLOAD_BYTES_OFFSET + WORD;
export const CONCURRENCY_OFFSET = MAX_CLIENTS_OFFSET + WORD;
export const HANG_TIMEOUT_MS_OFFSET = CONCURRENCY_OFFSET + WORD;
export const WAIT_STRATEGY_OFFSET = HANG_TIMEOUT_MS_OFFSET + WORD;
/** Always 0 (it once held flags no version ever set); covered by the checksum. */
export const RESERVED_CONFIG_OFFSET = WAIT_STRATEGY_OFFSET + WORD;
export const NORMAL_RING_DATA_BYTES_OFFSET = RESERVED_CONFIG_OFFSET + WORD;
export const VIP_RING_DATA_BYTES_OFFSET = NORMAL_RING_DATA_BYTES_OFFSET + WORD;

// Line 1: geometry and ownership.
export const WORKER_RECORD_BYTES_OFFSET = VIP_RING_DATA_BYTES_OFFSET + WORD;
export const SLOT_RECORD_BYTES_OFFSET = WORKER_RECORD_BYTES_OFFSET + WORD;
export const WORKERS_OFFSET_OFFSET = SLOT_RECORD_BYTES_OFFSET + WORD;
export const SLOTS_OFFSET_OFFSET = WORKERS_OFFSET_OFFSET + WORD;
export const RINGS_OFFSET_OFFSET = SLOTS_OFFSET_OFFSET + WORD;
export const SLOT_STRIDE_OFFSET = RINGS_OFFSET_OFFSET + WORD;
export const NORMAL_PAIR_BYTES_OFFSET = SLOT_STRIDE_OFFSET + WORD;
export const VIP_PAIR_BYTES_OFFSET = NORMAL_PAIR_BYTES_OFFSET + WORD;
export const EPOCH_OFFSET = VIP_PAIR_BYTES_OFFSET + WORD;
export const SUPERVISOR_PID_OFFSET = EPOCH_OFFSET + WORD;
export const CONTROL_NONCE_OFFSET = SUPERVISOR_PID_OFFSET + WORD;
const ALIGNMENT_PAD_OFFSET = CONTROL_NONCE_OFFSET + WORD;
export const SUPERVISOR_START_TIME_OFFSET = ALIGNMENT_PAD_OFFSET + WORD;
export const HEADER_CHECKSUM_OFFSET = SUPERVISOR_START_TIME_OFFSET + DOUBLE;
/** The checksum covers the words before it. */
export const CHECKSUMMED_WORDS = HEADER_CHECKSUM_OFFSET / WORD;

// Line 2: the seq-id counter every caller adds to.
export const SEQ_BLOCK_OFFSET = 2 * CACHE_LINE;
export const SEQ_BLOCK_SIZE = 1024;

// Line 3: what only the supervisor writes while it runs.
export const SUPERVISOR_STATE_OFFSET = 3 * CACHE_LINE;
export const HEARTBEAT_OFFSET = SUPERVISOR_STATE_OFFSET + WORD;
export const SLOT_EPOCH_OFFSET = HEARTBEAT_OFFSET + WORD;
export const WORKER_EPOCH_OFFSET = SLOT_EPOCH_OFFSET + WORD;
export const HEARTBEAT_AT_OFFSET = WORKER_EPOCH_OFFSET + WORD;
/** Spare worker processes booted and waiting for an index (informational: the CLI shows them). */
export const NORMAL_SPARES_READY_OFFSET = HEARTBEAT_AT_OFFSET + DOUBLE;
export const VIP_SPARES_READY_OFFSET = NORMAL_SPARES_READY_OFFSET + WORD;
export const SUPERVISOR_LINE_END_OFFSET = VIP_SPARES_READY_OFFSET + WORD;

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

/** WAIT_STRATEGY values. */
export const WaitStrategyCode = { adaptive: 0, spin: 1, block: 2 } as const;
export type WaitStrategy = keyof typeof WaitStrategyCode;
