import type { RemoteError } from '@phoenix-ipc/ringbuffer';

/**
 * Anything a handler threw, as data that can travel: described as a
 * RemoteError (name, message, code, own fields), and made JSON-safe. Both
 * must survive whatever was thrown: getters and proxies that throw, a
 * toString that throws, cycles, BigInts, binary data.
 */

/**
 * Describes anything a handler threw as a RemoteError: its name, message,
 * code and own enumerable fields, values as they are (not made JSON-safe).
 */
export function describeThrown(thrown: unknown): RemoteError {
  if (typeof thrown === 'function') {
    // Its source text is no message.
    const name = readField(thrown as unknown as Record<string, unknown>, 'name');
    return {
      name: 'Error',
      message: `a function${typeof name === 'string' && name !== '' ? ` (${name})` : ''} was thrown`,
    };
  }
  if (typeof thrown !== 'object' || thrown === null) return { name: 'Error', message: safeString(thrown) };
  // Anything may throw here (getters, proxies, a toString that throws): what can be read is kept.
  const source = thrown as Record<string, unknown>;
  const name = readField(source, 'name');
  const message = readField(source, 'message');
  const description: RemoteError = {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : safeString(thrown),
  };
  const code = readField(source, 'code');
  if (code !== undefined) description.code = code;
  let keys: string[] = [];
  try {
    keys = Object.keys(source);
  } catch {
    // a proxy that refuses ownKeys: no fields
  }
  for (const key of keys) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'code') continue;
    const value = readField(source, key);
    if (value !== undefined) description[key] = value;
  }
  return description;
}

/** `source[key]`, or undefined when reading it throws (a getter or a proxy trap). */
function readField(source: Record<string, unknown>, key: string): unknown {
  try {
    return source[key];
  } catch {
    return undefined;
  }
}

/** String(value), or a description of its type when that throws (a toString that throws, a null-prototype object). */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return `(a thrown ${typeof value} that cannot be turned into a string)`;
  }
}

/**
 * A JSON copy of `value`: Dates become ISO strings, BigInts decimal strings,
 * Maps arrays of entries, Sets arrays; binary data, functions, symbols and
 * undefined are left out. Undefined if the value cannot be made JSON (a cycle).
 */
export function toJsonSafe(value: unknown): unknown {
  try {
    const text = JSON.stringify(
      value,
      function replace(this: Record<string, unknown>, key: string, converted: unknown) {
        const original = this[key];
        if (typeof original === 'bigint') return original.toString();
        if (ArrayBuffer.isView(original) || original instanceof ArrayBuffer) return undefined;
        if (original instanceof Map) return [...original.entries()];
        if (original instanceof Set) return [...original.values()];
        return converted;
      },
    );
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
