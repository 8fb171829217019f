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
 *  |  slot 0: w0 .. wN-1 v0 ..    |  (caller produces, worker consumes) then
 *  |  slot 1: ...                 |  a response ring (worker produces, caller
 *  |  (SLOT_STRIDE bytes a slot)  |  consumes). Every ring has one producer
 *  +------------------------------+  process and one consumer process.
 *
 * Each structure has its own descriptor module, with its byte map:
 * segment-header.ts, worker-record.ts, slot-record.ts, protocol.ts (the
 * request and response frames), @phoenix-ipc/monitor (monitor records) and
 * @phoenix-ipc/ringbuffer (rings).
 */
export * from './segment-header.js';
export * from './slot-record.js';
export * from './worker-record.js';
