import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/index.js';

// docs/errors.md is the catalogue for people; ERROR_CODES the one in code.
// Every code needs an entry in the doc (a heading, or the first cell of a
// table row), and the doc may name no code that does not exist.
const docPath = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));
const doc = readFileSync(docPath, 'utf8');
const CODE = /ERR_PHOENIX_[A-Z0-9_]+/g;
const codes = Object.keys(ERROR_CODES);

function entries(pattern: RegExp): Set<string> {
  const found = new Set<string>();
  for (const line of doc.split('\n')) {
    const match = pattern.exec(line);
    if (match !== null) for (const code of match[1]!.match(CODE) ?? []) found.add(code);
  }
  return found;
}

const headings = entries(/^#{1,6}\s+(.*)$/);
const tableEntries = entries(/^\|\s*([^|]*?)\s*\|/);

describe('docs/errors.md', () => {
  it('has a heading or a table entry for every code in ERROR_CODES', () => {
    const missing = codes.filter((code) => !headings.has(code) && !tableEntries.has(code));
    expect(missing, `codes with no entry in ${docPath}`).toEqual([]);
  });

  it('names no code that is not in ERROR_CODES', () => {
    const unknown = [...new Set(doc.match(CODE) ?? [])].filter((code) => !Object.hasOwn(ERROR_CODES, code));
    expect(unknown, `codes in ${docPath} that ERROR_CODES does not have`).toEqual([]);
  });

  it('gives no code two sections', () => {
    // A section is a heading that is only the code, e.g. ### `ERR_PHOENIX_TIMEOUT`.
    const sections = doc
      .split('\n')
      .filter((line) => /^#{1,6}\s+`?ERR_PHOENIX_[A-Z0-9_]+`?\s*$/.test(line))
      .flatMap((line) => line.match(CODE) ?? []);
    const twice = sections.filter((code, i) => sections.indexOf(code) !== i);
    expect(twice).toEqual([]);
  });
});
