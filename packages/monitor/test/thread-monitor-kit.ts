import { GROUP_NORMAL, MonitorDescriptor, type MonitorSnapshot, ThreadMonitor } from '../src/index.js';

export const D = MonitorDescriptor;

export function fresh(options: { shared?: boolean; bytes?: number; offset?: number } = {}): {
  buffer: ArrayBuffer | SharedArrayBuffer;
  monitor: ThreadMonitor;
} {
  const { shared = true, bytes = 256, offset = 0 } = options;
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  return { buffer, monitor: ThreadMonitor.format(buffer, offset, GROUP_NORMAL, 0) };
}

export const IDLE_SNAPSHOT: MonitorSnapshot = {
  processing: false,
  transaction: 0,
  seqId: 0,
  groupId: 0,
  workerIndex: 0,
  startTimestamp: 0,
  slot: -1,
  ringPosition: 0,
  funcId: 0,
  attempt: 0,
  processed: 0,
  failed: 0,
  replyMark: 0,
};
