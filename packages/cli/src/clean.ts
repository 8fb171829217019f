import { statSegment, unlinkSegment } from '@phoenix-ipc/native-shm';
import { formatBytes } from './format.js';
import { readLocks } from './processes.js';
import { classifySegment, type SegmentEntry, type SegmentStatus, scanSegments } from './segments.js';

export interface CleanOptions {
  /** Only these names ("/name"); default: every entry of /dev/shm (filtered by `prefix`). */
  names?: readonly string[];
  prefix?: string;
  dryRun?: boolean;
}

export interface CleanedSegment {
  name: string;
  size: number;
  pid: number | null;
  note: string | null;
}

export interface CleanReport {
  dryRun: boolean;
  /** Removed (or, with dryRun, would be removed). */
  removed: CleanedSegment[];
  /** Left alone, with the reason: alive, being created, foreign, stale but still in use... */
  kept: { name: string; status: SegmentStatus; note: string | null }[];
  /** Named on the command line but absent, or the unlink failed. */
  failed: { name: string; error: string }[];
}

/**
 * Removes the names of stale PhoenixIPC segments: a valid PhoenixIPC header
 * whose supervisor (pid + start time) no longer runs, no process holding the
 * file's lock, and no worker of it still running. Never a live segment, a
 * foreign file, or one a live process is still creating. Mappings other
 * processes hold stay valid (unlink only removes the name).
 */
export function cleanSegments(options: CleanOptions = {}): CleanReport {
  const report: CleanReport = { dryRun: options.dryRun ?? false, removed: [], kept: [], failed: [] };
  let entries: SegmentEntry[];
  if (options.names !== undefined && options.names.length > 0) {
    const locks = readLocks();
    entries = [];
    for (const name of options.names) {
      const entry = classifySegment(name, locks);
      if (entry === null) report.failed.push({ name, error: `no segment named ${name}` });
      else entries.push(entry);
    }
  } else {
    entries = scanSegments(options.prefix ?? '');
  }
  for (const entry of entries) {
    if (!entry.removable) {
      report.kept.push({ name: entry.name, status: entry.status, note: entry.note });
      continue;
    }
    const cleaned = { name: entry.name, size: entry.size, pid: entry.pid, note: entry.note };
    if (report.dryRun) {
      report.removed.push(cleaned);
      continue;
    }
    try {
      // Unlink only the file we judged: not one a new supervisor created under the name meanwhile.
      const current = statSegment(entry.name);
      if (!current.exists) {
        report.kept.push({ name: entry.name, status: entry.status, note: 'removed by someone else meanwhile' });
        continue;
      }
      if (current.inode !== entry.inode) {
        report.kept.push({ name: entry.name, status: entry.status, note: 'replaced by a new segment meanwhile' });
        continue;
      }
      if (unlinkSegment(entry.name)) report.removed.push(cleaned);
      else report.kept.push({ name: entry.name, status: entry.status, note: 'removed by someone else meanwhile' });
    } catch (error) {
      report.failed.push({ name: entry.name, error: (error as Error).message });
    }
  }
  return report;
}

export function renderClean(report: CleanReport): string {
  const lines: string[] = [];
  const verb = report.dryRun ? 'would remove' : 'removed';
  for (const removed of report.removed) {
    lines.push(`${verb} ${removed.name}  (${formatBytes(removed.size)}; ${removed.note ?? 'stale'})`);
  }
  for (const kept of report.kept) {
    if (kept.status === 'stale') lines.push(`kept ${kept.name}  (stale, ${kept.note ?? 'in use'})`);
  }
  for (const failed of report.failed) lines.push(`failed ${failed.name}: ${failed.error}`);
  const byStatus = new Map<string, number>();
  for (const kept of report.kept) byStatus.set(kept.status, (byStatus.get(kept.status) ?? 0) + 1);
  const keptText = [...byStatus].map(([status, count]) => `${count} ${status}`).join(', ');
  const summary = report.dryRun
    ? `dry run: ${report.removed.length} stale segment${report.removed.length === 1 ? '' : 's'} would be removed, nothing was removed`
    : `${report.removed.length} stale segment${report.removed.length === 1 ? '' : 's'} removed`;
  lines.push(`${summary}${keptText === '' ? '' : `; left alone: ${keptText}`}`);
  return lines.join('\n');
}
