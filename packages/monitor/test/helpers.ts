/** Reads the i32 word at byte `offset` of the monitor at `base`. */
export function wordAt(buffer: ArrayBufferLike, base: number, offset: number): number {
  return new DataView(buffer).getInt32(base + offset, true);
}

/** Writes the i32 word at byte `offset` of the monitor at `base`. */
export function setWordAt(buffer: ArrayBufferLike, base: number, offset: number, value: number): void {
  new DataView(buffer).setInt32(base + offset, value | 0, true);
}
