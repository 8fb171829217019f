/**
 * Byte layout of a caller slot record: one per caller (slot 0 the
 * supervisor's own, then client processes and a few spares),
 * SLOT_RECORD_BYTES = 128 + align64(8 x workers) bytes. One field per row;
 * offsets in bytes.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+  0  line 0: supervisor-written
 *  |              STATE (FREE / ACTIVE / DRAINING)                 |
 *  |        GENERATION (bumped at every admission)                 |  4
 *  |                  PID (of the caller process)                  |  8
 *  |           reserved (aligns the f64 below to 8 bytes)          |  12
 *  |         PID_START_TIME (f64, clock ticks since boot)          |  16
 *  |                                                               |
 *  +---------------------------------------------------------------+  64 line 1: caller-written
 *  |     PARKED (1 = the caller sleeps on its doorbell)            |
 *  +---------------------------------------------------------------+  128
 *  |   ACK[workers]: the generation each worker detached from      |
 *  |   OUTSTANDING[workers]: the caller's unanswered requests      |
 *  +---------------------------------------------------------------+
 */

const WORD = 4;
const CACHE_LINE = 64;

// Line 0: supervisor-written.
export const SLOT_STATE_OFFSET = 0;
export const SLOT_GENERATION_OFFSET = SLOT_STATE_OFFSET + WORD;
export const SLOT_PID_OFFSET = SLOT_GENERATION_OFFSET + WORD;
const ALIGNMENT_PAD_OFFSET = SLOT_PID_OFFSET + WORD;
export const SLOT_PID_START_TIME_OFFSET = ALIGNMENT_PAD_OFFSET + WORD;
// Line 1: the caller's doorbell flag.
export const SLOT_PARKED_OFFSET = CACHE_LINE;
// Then one ACK word per worker, followed by one OUTSTANDING word per worker.
export const SLOT_ACKS_OFFSET = 2 * CACHE_LINE;

export const SlotState = {
  Free: 0,
  Active: 1,
  /** Its caller is gone; workers detach from it, then the supervisor frees it. */
  Draining: 2,
} as const;
export type SlotState = (typeof SlotState)[keyof typeof SlotState];

/** Slot 0 is the supervisor's own caller. */
export const SUPERVISOR_SLOT = 0;
