/**
 * Byte layout of one ThreadMonitor record: 64 bytes, one cache line, written
 * only by the worker that owns it (and by the supervisor once that worker is
 * dead).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+  0
 *  |  STATE (IDLE 0 / PROCESSING 1), stored last on begin (release) |
 *  |  TRANSACTION (free-running count of begins; for hang scans)    |  4
 *  |  GROUP_ID (0 normal, 1 VIP)                                    |  8
 *  |  WORKER_INDEX (0-based within the group)                       |  12
 *  |  SEQ_ID low 32 bits                                            |  16
 *  |  SEQ_ID high 21 bits                                           |  20
 *  |  START_TIMESTAMP (f64, CLOCK_MONOTONIC ms)                     |  24
 *  |                                                                |
 *  |  SLOT (caller slot the request came from)                      |  32
 *  |  RING_POSITION (message index of the request in that ring)     |  36
 *  |  FUNC_ID                                                       |  40
 *  |  ATTEMPT (1 for the first run)                                 |  44
 *  |  PROCESSED (completed transactions)                            |  48
 *  |  FAILED (transactions that ended in a failure reply)           |  52
 *  |  MAGIC ("MON1")                                                |  56
 *  |  REPLY_MARK (response ring's message count at begin)            |  60
 *  +---------------------------------------------------------------+  64
 */
export const MONITOR_BYTES = 64;
export const MONITOR_ALIGNMENT = 64;
export const MONITOR_MAGIC = 0x314e4f4d; // "MON1"

const WORD = 4;
const DOUBLE = 8;

export const STATE_OFFSET = 0;
export const TRANSACTION_OFFSET = STATE_OFFSET + WORD;
export const GROUP_ID_OFFSET = TRANSACTION_OFFSET + WORD;
export const WORKER_INDEX_OFFSET = GROUP_ID_OFFSET + WORD;
export const SEQ_ID_LOW_OFFSET = WORKER_INDEX_OFFSET + WORD;
export const SEQ_ID_HIGH_OFFSET = SEQ_ID_LOW_OFFSET + WORD;
export const START_TIMESTAMP_OFFSET = SEQ_ID_HIGH_OFFSET + WORD;
export const SLOT_OFFSET = START_TIMESTAMP_OFFSET + DOUBLE;
export const RING_POSITION_OFFSET = SLOT_OFFSET + WORD;
export const FUNC_ID_OFFSET = RING_POSITION_OFFSET + WORD;
export const ATTEMPT_OFFSET = FUNC_ID_OFFSET + WORD;
export const PROCESSED_OFFSET = ATTEMPT_OFFSET + WORD;
export const FAILED_OFFSET = PROCESSED_OFFSET + WORD;
export const MAGIC_OFFSET = FAILED_OFFSET + WORD;
/** The worker's response ring count when the transaction began: a higher published count means the reply went out. */
export const REPLY_MARK_OFFSET = MAGIC_OFFSET + WORD;
/** The record is exactly one cache line: REPLY_MARK is its last word. */
export const MONITOR_END_OFFSET = REPLY_MARK_OFFSET + WORD;

export const MONITOR_STATE_IDLE = 0;
export const MONITOR_STATE_PROCESSING = 1;

export const GROUP_NORMAL = 0;
export const GROUP_VIP = 1;
