/** Plain-text rendering for the phoenix CLI: aligned tables, sizes and durations. */

export type Cell = string | number | boolean | null | undefined;

/** Renders rows under a header as columns separated by two spaces; numbers align right. */
export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => header.map((_, i) => cellText(row[i])));
  // A column of numbers (and '-' for none) aligns right.
  const numeric = header.map(
    (_, i) => rows.some((row) => typeof row[i] === 'number') && rows.every((row) => isNumeric(row[i])),
  );
  const widths = header.map((title, i) => Math.max(title.length, ...text.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const last = i === cells.length - 1;
        if (numeric[i]) return cell.padStart(widths[i]!);
        return last ? cell : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...text.map((row) => line(row))].join('\n');
}

function isNumeric(cell: Cell): boolean {
  return typeof cell === 'number' || cell === null || cell === undefined || cell === '-';
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '-';
  if (typeof cell === 'boolean') return cell ? 'yes' : 'no';
  return String(cell);
}

/** Key/value lines, keys padded to one width. */
export function keyValues(pairs: readonly (readonly [string, Cell])[], indent = ''): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${indent}${key.padEnd(width)}  ${cellText(value)}`).join('\n');
}

/** 7879936 -> "7.5 MiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** 850 -> "850 ms", 1234 -> "1.23 s", 125000 -> "2m 05s", 7_500_000 -> "2h 05m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(abs < 10_000 ? 2 : 1)} s`;
  const totalSeconds = Math.floor(abs / 1000);
  if (totalSeconds < 3600) {
    return `${sign}${Math.floor(totalSeconds / 60)}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 24 * 60) {
    return `${sign}${Math.floor(totalMinutes / 60)}h ${String(totalMinutes % 60).padStart(2, '0')}m`;
  }
  return `${sign}${Math.floor(totalMinutes / 1440)}d ${String(Math.floor(totalMinutes / 60) % 24).padStart(2, '0')}h`;
}

/** Rounds a duration for JSON output (microsecond precision is noise). */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
