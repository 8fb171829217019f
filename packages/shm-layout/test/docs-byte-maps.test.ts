/**
 * docs/architecture.md draws every shared structure's byte map. Those maps are
 * copies of the maps in the descriptor modules, and both must agree with the
 * exported *_OFFSET constants the code uses. This test keeps all three in step:
 * each map in the docs appears, chunk for chunk, in its source file's comment,
 * and every field the map places at an offset is the constant of that name
 * with that value (and every field constant is drawn).
 */
import { readFileSync } from 'node:fs';
import { MonitorDescriptor } from '@phoenix-ipc/monitor';
import { RingDescriptor } from '@phoenix-ipc/ringbuffer';
import { describe, expect, it } from 'vitest';
import { SegmentDescriptor } from '../src/index.js';
import * as Protocol from '../src/protocol.js';

const ROOT = new URL('../../../', import.meta.url);
const DOC = 'docs/architecture.md';
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

type Constants = Record<string, unknown>;

interface DrawnMap {
  /** The `### ` heading of the docs section (up to the first line break). */
  heading: string;
  /** The descriptor module whose comment draws the same map. */
  source: string;
  constants: Constants;
  /** The constant a drawn field name stands for. */
  constantFor: (field: string) => string;
  /** *_OFFSET constants that are derived (line starts, ends, pads), not fields drawn in a row. */
  notDrawn?: string[];
}

const MAPS: DrawnMap[] = [
  {
    heading: '### Segment header',
    source: 'packages/shm-layout/src/segment-header.ts',
    constants: SegmentDescriptor,
    constantFor: (field) => `${field}_OFFSET`,
    notDrawn: ['RESERVED_CONFIG_OFFSET', 'SUPERVISOR_LINE_END_OFFSET'],
  },
  {
    heading: '### Worker record',
    source: 'packages/shm-layout/src/worker-record.ts',
    constants: SegmentDescriptor,
    constantFor: (field) => `WORKER_${field}_OFFSET`,
    // The ThreadMonitor records start at the line after the reserved one (a separator, not a field).
    notDrawn: ['WORKER_MONITORS_OFFSET'],
  },
  {
    heading: '### Caller slot record',
    source: 'packages/shm-layout/src/slot-record.ts',
    constants: SegmentDescriptor,
    constantFor: (field) => (field === 'ACK' ? 'SLOT_ACKS_OFFSET' : `SLOT_${field}_OFFSET`),
  },
  {
    heading: '### Ring',
    source: 'packages/ringbuffer/src/ring-descriptor.ts',
    constants: RingDescriptor,
    constantFor: (field) => `${field}_OFFSET`,
    notDrawn: ['PRODUCER_LINE_OFFSET', 'CONSUMER_LINE_OFFSET'],
  },
  {
    heading: '### Monitor record',
    source: 'packages/monitor/src/monitor-descriptor.ts',
    constants: MonitorDescriptor,
    constantFor: (field) => `${field}_OFFSET`,
    notDrawn: ['MONITOR_END_OFFSET'],
  },
];

/** The first fenced block after `heading` in the docs. */
function docsBlock(heading: string): string[] {
  const doc = read(DOC);
  const at = doc.split('\n').findIndex((line) => line.startsWith(heading));
  expect(at, `${DOC} has no section "${heading}"`).toBeGreaterThanOrEqual(0);
  const lines = doc.split('\n').slice(at);
  const open = lines.findIndex((line) => line.startsWith('```'));
  const close = lines.findIndex((line, i) => i > open && line.startsWith('```'));
  return lines.slice(open + 1, close);
}

/** The first /** ... *\/ comment of a source file, without its ` * ` margin. */
function sourceComment(path: string): string[] {
  const match = /\/\*\*\n([\s\S]*?)\*\//.exec(read(path));
  if (!match) throw new Error(`${path} has no leading doc comment`);
  return match[1]!.split('\n').map((line) => line.replace(/^\s*\*( |$)/, ''));
}

const normalize = (lines: string[]) => lines.map((line) => line.trim());

/** Blank-line separated chunks of a block, each normalized. */
function chunks(lines: string[]): string[][] {
  const out: string[][] = [[]];
  for (const line of normalize(lines)) {
    if (line === '') out.push([]);
    else out[out.length - 1]!.push(line);
  }
  return out.filter((chunk) => chunk.length > 0);
}

function containsRun(haystack: string[], needle: string[]): boolean {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((line, j) => haystack[i + j] === line)) return true;
  }
  return false;
}

/**
 * (field, offset) pairs of a drawn map. A row `| NAME (...) |  24` places NAME
 * at 24; a row without an offset takes the one on the separator above it
 * (`+----+  128 line 2`). Lower-case rows (reserved, payload, continuations)
 * place nothing. `SEQ_ID low` / `SEQ_ID high` name SEQ_ID_LOW / SEQ_ID_HIGH.
 */
function drawnFields(lines: string[]): { field: string; offset: number }[] {
  const fields: { field: string; offset: number }[] = [];
  let separatorOffset: number | null = null;
  for (const line of lines) {
    const separator = /^\s*\+-+\+\s+(\d+)\b/.exec(line);
    if (separator) {
      separatorOffset = Number(separator[1]);
      continue;
    }
    if (/^\s*\+-+\+/.test(line)) {
      separatorOffset = null;
      continue;
    }
    const row = /^\s*\|(.*)\|\s*(\d+)?\s*$/.exec(line);
    if (!row) continue;
    const name = /^\s*([A-Z][A-Z0-9_]*)(?![A-Za-z0-9_])(?:\s+(low|high)\b)?/.exec(row[1]!);
    const offset = row[2] === undefined ? separatorOffset : Number(row[2]);
    separatorOffset = null;
    if (!name || offset === null) continue;
    fields.push({ field: name[2] ? `${name[1]}_${name[2].toUpperCase()}` : name[1]!, offset });
  }
  return fields;
}

describe(`the byte maps in ${DOC}`, () => {
  describe.each(MAPS)('$heading', (map) => {
    it(`is the map drawn in ${map.source}`, () => {
      const source = normalize(sourceComment(map.source));
      for (const chunk of chunks(docsBlock(map.heading))) {
        expect(containsRun(source, chunk), `not in ${map.source}:\n${chunk.join('\n')}`).toBe(true);
      }
    });

    it('places every field at the offset of its *_OFFSET constant', () => {
      const drawn = drawnFields(docsBlock(map.heading));
      expect(drawn.length).toBeGreaterThan(0);
      for (const { field, offset } of drawn) {
        const name = map.constantFor(field);
        expect(map.constants[name], `${field} is drawn at ${offset}; ${name} is not exported`).toBeTypeOf('number');
        expect(map.constants[name], `${field} is drawn at ${offset}, ${name} says otherwise`).toBe(offset);
      }
    });

    it('draws every *_OFFSET constant of the structure', () => {
      const drawn = new Set(drawnFields(docsBlock(map.heading)).map(({ field }) => map.constantFor(field)));
      const ownConstants = Object.keys(map.constants).filter(
        (name) =>
          name.endsWith('_OFFSET') && readFileSync(new URL(map.source, ROOT), 'utf8').includes(`const ${name} `),
      );
      const missing = ownConstants.filter((name) => !drawn.has(name) && !(map.notDrawn ?? []).includes(name));
      expect(missing).toEqual([]);
    });
  });

  describe('### Request and response frames', () => {
    const heading = '### Request and response frames';
    /** The two-column frames table: `24 DEADLINE  f64 ...    24 QUEUE_WAIT_US i32 ...`. */
    function frameFields(): { request: Map<string, number>; response: Map<string, number> } {
      const doc = read(DOC).split('\n');
      const at = doc.findIndex((line) => line.startsWith(heading));
      const table = doc.slice(at).find((line) => /^\s*RequestFrame\s+ResponseFrame\s*$/.test(line));
      expect(table).toBeDefined();
      const start = doc.indexOf(table!, at);
      const split = table!.indexOf('ResponseFrame');
      const request = new Map<string, number>();
      const response = new Map<string, number>();
      for (const line of doc.slice(start + 1)) {
        if (line.startsWith('```')) break;
        for (const [column, fields] of [
          [line.slice(0, split), request],
          [line.slice(split), response],
        ] as const) {
          const field = /^\s*(\d+)\s+([A-Za-z_]+)/.exec(column);
          if (field) fields.set(field[2]!, Number(field[1]));
        }
      }
      return { request, response };
    }

    it('is the table drawn in packages/shm-layout/src/protocol.ts', () => {
      const source = normalize(sourceComment('packages/shm-layout/src/protocol.ts'));
      const blocks = read(DOC)
        .split(heading)[1]!
        .split('\n## ')[0]!
        .split('```')
        .filter((_, i) => i % 2 === 1);
      expect(blocks.length).toBeGreaterThan(0);
      for (const block of blocks) {
        for (const chunk of chunks(block.split('\n'))) {
          expect(containsRun(source, chunk), `not in protocol.ts:\n${chunk.join('\n')}`).toBe(true);
        }
      }
    });

    it('places every frame field at the offset of its constant', () => {
      const { request, response } = frameFields();
      const RESPONSE_NAMES: Record<string, string> = {
        QUEUE_WAIT_US: 'RESPONSE_QUEUE_WAIT_OFFSET',
        HANDLER_US: 'RESPONSE_HANDLER_TIME_OFFSET',
      };
      const constants = Protocol as unknown as Constants;
      const expected: [string, number, string][] = [];
      for (const [field, offset] of request) {
        if (field === 'payload') continue;
        expected.push([field, offset, field === 'MsgHeader' ? 'REQUEST_HEADER_OFFSET' : `REQUEST_${field}_OFFSET`]);
      }
      for (const [field, offset] of response) {
        if (field === 'payload') continue;
        const name =
          field === 'MsgHeader' ? 'RESPONSE_HEADER_OFFSET' : (RESPONSE_NAMES[field] ?? `RESPONSE_${field}_OFFSET`);
        expected.push([field, offset, name]);
      }
      expect(expected.length).toBeGreaterThan(8);
      for (const [field, offset, name] of expected) {
        expect(constants[name], `${field} is drawn at ${offset}, ${name} says otherwise`).toBe(offset);
      }
      // The payload follows the fixed part of each frame.
      expect(request.get('payload')).toBe(Protocol.REQUEST_FRAME_BYTES);
      expect(response.get('payload')).toBe(Protocol.RESPONSE_FRAME_BYTES);
    });
  });
});
