/**
 * Small changes to the private copy of msgpackr this package bundles
 * (tsup.config.ts), applied the same way to the tests (vitest.config.ts).
 * Each takes effect only for a Packr with its option set (the codec's, see
 * src/msgpack-codec.ts): any other Packr behaves as msgpackr does.
 *
 * The build fails if msgpackr's code no longer has a line a change is made
 * to: look again before upgrading msgpackr.
 */
import { readFileSync } from 'node:fs';

const FILES = /[\\/]msgpackr[\\/](pack\.js|dist[\\/]node\.cjs)$/;

interface Patch {
  /** The exact text in msgpackr, found once. */
  readonly from: string;
  readonly to: string;
}

const PATCHES: readonly Patch[] = [
  // mapsAsExtension: msgpackr writes a JS Map as a plain msgpack map, before it
  // looks at any extension. With records off (the fast mode for
  // request/response values) plain objects are msgpack maps too, and a Map
  // would decode as an object. Skipping that branch lets Maps reach the
  // codec's Map extension instead.
  {
    from: '} else if (constructor === Map) {',
    to: '} else if (constructor === Map && !this.mapsAsExtension) {',
  },
  // keepNegativeZero: msgpackr writes -0 as the integer 0 (-0 >>> 0 === -0),
  // and the sign is lost. Written as a float64 -0 instead, which any msgpack
  // reader decodes as -0. (On the same line: msgpackr's line numbers stay.)
  {
    from: "} else if (type === 'number') {",
    to:
      "} else if (type === 'number') { if (value === 0 && 1 / value < 0 && this.keepNegativeZero) " +
      '{ target[position++] = 0xcb; targetView.setFloat64(position, value); position += 8; return; }',
  },
  // checkObject: an object no extension takes (an instance of a class) is
  // written as a plain map of its own fields, whatever it is: a boxed primitive
  // or a SharedArrayBuffer would arrive as {}. The hook may refuse it first.
  {
    from: '// no extension found, write as plain object',
    to: 'if (this.checkObject) this.checkObject(value); // no extension found, write as plain object',
  },
  // maxEncodedBytes: msgpackr grows its buffer up to 4 GiB. A sparse array of
  // length 2^32-1 (one element set) then took 100 s and 8 GB before failing,
  // though no transport carries more than 64 MiB. The hook throws once the
  // value needs more. (Only buffers past 16 MiB take this branch: no cost on
  // the common path.)
  {
    from: 'if ((end - start) > MAX_BUFFER_SIZE)',
    to:
      'if (packr.maxEncodedBytes < end - start) packr.refuseSize(end - start); ' +
      'if ((end - start) > MAX_BUFFER_SIZE)',
  },
];

/** msgpackr's source with the changes; throws if a line to change is not there exactly once. */
export function patchMsgpackr(code: string, file: string): string {
  let patched = code;
  for (const { from, to } of PATCHES) {
    const at = patched.indexOf(from);
    if (at < 0 || patched.indexOf(from, at + 1) >= 0) {
      throw new Error(`${file}: expected exactly one "${from}" (has msgpackr changed?)`);
    }
    patched = patched.slice(0, at) + to + patched.slice(at + from.length);
  }
  return patched;
}

/** The esbuild plugin (tsup). */
export const msgpackrPatchesEsbuild = {
  name: 'msgpackr-patches',
  setup(build: {
    onLoad(options: { filter: RegExp }, callback: (args: { path: string }) => { contents: string; loader: 'js' }): void;
  }) {
    build.onLoad({ filter: FILES }, ({ path }) => ({
      contents: patchMsgpackr(readFileSync(path, 'utf8'), path),
      loader: 'js',
    }));
  },
};

/** The Vite plugin (vitest; msgpackr must be inlined: server.deps.inline). */
export const msgpackrPatchesVite = {
  name: 'msgpackr-patches',
  enforce: 'pre' as const,
  transform(code: string, id: string): string | null {
    const file = id.split('?')[0]!;
    return FILES.test(file) ? patchMsgpackr(code, file) : null;
  },
};
