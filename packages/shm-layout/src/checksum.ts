/** FNV-1a over 32-bit words: a cheap integrity check of the segment header, not a security measure. */
export function fnv1aWords(words: Int32Array, from: number, to: number, skip = -1): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    if (i === skip) continue;
    const word = words[i]!;
    for (let shift = 0; shift < 32; shift += 8) {
      hash ^= (word >>> shift) & 0xff;
      hash = Math.imul(hash, 0x01000193);
    }
  }
  return hash | 0;
}

/** FNV-1a 32 of a string's UTF-8 bytes, as 8 hex digits. */
export function fnv1aHex(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}
