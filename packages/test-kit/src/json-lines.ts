/**
 * The JSON-lines protocol our fixture processes speak on stdout: one object
 * per line. Lines that are not JSON objects (a stray log line, a runtime
 * warning) are passed over. Shared by the tests' ScriptProcess and the stress
 * CLI's FixtureProcess (`@phoenix-ipc/test-kit/json-lines`), so that both
 * read a fixture's output the same way.
 */
import type { Readable } from 'node:stream';

/** Calls `onObject` with each stdout line of `stream` that parses as a JSON object, in order. */
export function onJsonLines(stream: Readable, onObject: (value: Record<string, unknown>) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      const value = line.startsWith('{') ? parseObject(line) : null;
      if (value !== null) onObject(value);
      newline = buffered.indexOf('\n');
    }
  });
}

function parseObject(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}
