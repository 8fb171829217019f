// Human output: a progress bar per scenario (one updating line on a TTY, plain
// periodic lines otherwise) and the summary table.
import { formatDuration } from './duration.js';
import type { Check } from './scenario.js';

export interface Out {
  write(text: string): void;
  readonly isTTY: boolean;
  readonly columns: number;
}

export function outFor(stream: NodeJS.WriteStream): Out {
  return {
    write: (text) => stream.write(text),
    isTTY: stream.isTTY === true,
    get columns() {
      return stream.columns > 0 ? stream.columns : 100;
    },
  };
}

const BAR = 24;

export class ProgressLine {
  readonly #out: Out;
  readonly #name: string;
  readonly #started = Date.now();
  readonly #plainEveryMs: number;
  #fraction = 0;
  #status = 'starting';
  #lastDraw = 0;
  #lastPlain: number;
  #timer: NodeJS.Timeout | null = null;
  #drawn = false;

  constructor(out: Out, name: string, durationMs: number) {
    this.#out = out;
    this.#name = name;
    this.#plainEveryMs = Math.max(2000, Math.min(15_000, durationMs / 10));
    this.#lastPlain = this.#started;
    if (out.isTTY) {
      this.#timer = setInterval(() => this.#draw(true), 250);
      this.#timer.unref();
      this.#draw(true);
    } else {
      out.write(`▶ ${name} (${formatDuration(durationMs)})\n`);
    }
  }

  update(fraction: number, status?: string): void {
    this.#fraction = Math.max(0, Math.min(1, fraction));
    if (status !== undefined) this.#status = status;
    this.#draw(false);
  }

  #line(): string {
    const filled = Math.round(this.#fraction * BAR);
    const elapsed = formatDuration(Date.now() - this.#started);
    const percent = `${Math.floor(this.#fraction * 100)}`.padStart(3);
    return `${this.#name} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${percent}% ${elapsed} ${this.#status}`;
  }

  #draw(force: boolean): void {
    const now = Date.now();
    if (this.#out.isTTY) {
      if (!force && now - this.#lastDraw < 100) return;
      this.#lastDraw = now;
      const width = Math.max(20, this.#out.columns - 1);
      this.#out.write(`\r\x1b[2K${this.#line().slice(0, width)}`);
      this.#drawn = true;
    } else if (now - this.#lastPlain >= this.#plainEveryMs) {
      this.#lastPlain = now;
      this.#out.write(`  ${this.#line()}\n`);
    }
  }

  finish(ok: boolean, elapsedMs: number, summary: string): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#out.isTTY && this.#drawn) this.#out.write('\r\x1b[2K');
    this.#out.write(
      `${ok ? '✔' : '✘'} ${this.#name} ${ok ? 'passed' : 'FAILED'} in ${formatDuration(elapsedMs)}: ${summary}\n`,
    );
  }
}

export interface TableRow {
  name: string;
  ok: boolean;
  elapsedMs: number;
  summary: string;
  failed: Check[];
  error: string | null;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function renderTable(rows: TableRow[], columns: number): string {
  const header = ['scenario', 'result', 'time', 'summary'];
  const cells = rows.map((row) => [row.name, row.ok ? 'PASS' : 'FAIL', formatDuration(row.elapsedMs), row.summary]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((cell) => cell[i]!.length)));
  // Let the summary column wrap rather than run far past the terminal.
  const fixed = widths[0]! + widths[1]! + widths[2]! + 9;
  widths[3] = Math.max(30, Math.min(widths[3]!, Math.max(columns, 100) - fixed));
  const line = (parts: string[]) => {
    const summary = parts[3]!;
    const chunks: string[] = [];
    for (let i = 0; i < summary.length || i === 0; i += widths[3]!) chunks.push(summary.slice(i, i + widths[3]!));
    return chunks
      .map((chunk, k) =>
        [k === 0 ? parts[0]! : '', k === 0 ? parts[1]! : '', k === 0 ? parts[2]! : '', chunk]
          .map((part, i) => pad(part, widths[i]!))
          .join(' │ ')
          .trimEnd(),
      )
      .join('\n');
  };
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  const out = [line(header), rule, ...cells.map(line)];
  const failures: string[] = [];
  for (const row of rows) {
    if (row.error !== null) failures.push(`  ${row.name}: ${row.error}`);
    for (const failed of row.failed) {
      failures.push(`  ${row.name}: ${failed.name}: got ${show(failed.actual)}, expected ${failed.expected}`);
    }
  }
  if (failures.length > 0) out.push('', 'broken guarantees:', ...failures);
  return `${out.join('\n')}\n`;
}
