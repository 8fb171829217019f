/**
 * getWorkerStats(): one row per worker index, read from the segment (the
 * monitors' counters, the queues) and from the supervisor's own records.
 */
import { type PhoenixShmLayout, WorkerState } from '@phoenix-ipc/shm-layout';
import type { ManagedWorker } from './managed-worker.js';

export interface WorkerStats {
  group: 'normal' | 'vip';
  /** 0-based within its group, stable across restarts. */
  index: number;
  /** Current process id (0 when none). */
  pid: number;
  /** The current process was a warm spare that took this index over (spareWorkers). */
  spare: boolean;
  alive: boolean;
  state: 'starting' | 'running' | 'restarting' | 'down' | 'stopped' | 'retiring' | 'idle';
  /** Left down by the crash-loop limit until restartWorkers(). */
  down: boolean;
  processed: number;
  failed: number;
  crashes: number;
  restarts: number;
  /** Requests queued to this worker, summed over every caller's ring. */
  queueDepth: number;
  /** Seq id of the request it is running now; 0 (kInvalidSeqId) when idle. */
  inFlightSeqId: number;
}

/** The name each published worker state is reported by (Empty: no process was ever started). */
export const WORKER_STATE_NAMES: Readonly<Record<WorkerState, WorkerStats['state']>> = {
  [WorkerState.Empty]: 'idle',
  [WorkerState.Starting]: 'starting',
  [WorkerState.Running]: 'running',
  [WorkerState.Restarting]: 'restarting',
  [WorkerState.Down]: 'down',
  [WorkerState.Stopped]: 'stopped',
  [WorkerState.Retiring]: 'retiring',
};

/** A state word a broken peer overwrote with garbage reads as idle. */
export function workerStateName(state: number): WorkerStats['state'] {
  return WORKER_STATE_NAMES[state as WorkerState] ?? 'idle';
}

export function workerStats(layout: PhoenixShmLayout, workers: readonly ManagedWorker[]): WorkerStats[] {
  return workers.map((worker) => {
    const channel = worker.channel;
    let processed = 0;
    let failed = 0;
    for (const monitor of channel.monitors) {
      processed += monitor.getProcessed();
      failed += monitor.getFailed();
    }
    return {
      group: channel.group,
      index: channel.index,
      pid: worker.child !== null ? worker.pid : 0,
      spare: worker.child !== null && worker.fromSpare,
      alive: worker.alive,
      state: workerStateName(channel.state),
      down: worker.down,
      processed,
      failed,
      crashes: worker.crashes,
      restarts: channel.restarts,
      queueDepth: layout.queuedRequests(channel),
      inFlightSeqId: channel.monitor.getProcessingSeq(),
    };
  });
}
