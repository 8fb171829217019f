const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "500ms", "30s", "2m", "1.5m", "1h" or a bare number of seconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (match === null) throw new Error(`bad duration ${JSON.stringify(text)}: use e.g. 500ms, 30s, 2m`);
  const value = Number(match[1]) * UNITS[(match[2] ?? 's').toLowerCase()]!;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`duration must be positive, got ${JSON.stringify(text)}`);
  return Math.round(value);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes}m${seconds.toString().padStart(2, '0')}s`;
}
