import { formatBytes, table } from './format.js';
import type { SegmentEntry } from './segments.js';

export function renderList(entries: readonly SegmentEntry[], prefix: string): string {
  if (entries.length === 0) return `no shared-memory segments in /dev/shm${prefix === '' ? '' : ` named ${prefix}*`}`;
  return table(
    ['NAME', 'STATUS', 'PID', 'SIZE', 'VERSION', 'EPOCH', 'CLIENTS', 'WORKERS', 'NOTE'],
    entries.map((entry) => [
      entry.name,
      entry.status,
      entry.pid !== null && entry.pid > 0 ? entry.pid : '-',
      formatBytes(entry.size),
      entry.version,
      entry.epoch,
      entry.clients,
      entry.workers === null ? '-' : `${entry.workersRunning}/${entry.workers}`,
      entry.note ?? '',
    ]),
  );
}
