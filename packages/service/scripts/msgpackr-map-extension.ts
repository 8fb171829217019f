/**
 * A one-line change to the private copy of msgpackr this package bundles
 * (tsup.config.ts), applied the same way to the tests (vitest.config.ts).
 *
 * msgpackr writes a JS Map as a plain msgpack map, before it looks at any
 * extension. With records off (the fast mode for request/response values, see
 * src/msgpack-codec.ts) plain objects are msgpack maps too, and a Map would
 * decode as an object. The change lets a Packr whose `mapsAsExtension` is set
 * skip that branch, so Maps reach the codec's Map extension instead.
 *
 * The build fails if msgpackr's code no longer has the line: look again
 * before upgrading msgpackr.
 */
import { readFileSync } from 'node:fs';

const FILES = /[\\/]msgpackr[\\/](pack\.js|dist[\\/]node\.cjs)$/;
const BRANCH = '} else if (constructor === Map) {';
const PATCHED = '} else if (constructor === Map && !this.mapsAsExtension) {';

/** msgpackr's source with the change; throws if the branch is not there exactly once. */
export function patchMsgpackr(code: string, file: string): string {
  const at = code.indexOf(BRANCH);
  if (at < 0 || code.indexOf(BRANCH, at + 1) >= 0) {
    throw new Error(`${file}: expected exactly one "${BRANCH}" (has msgpackr changed?)`);
  }
  return code.replace(BRANCH, PATCHED);
}

/** The esbuild plugin (tsup). */
export const msgpackrMapExtensionEsbuild = {
  name: 'msgpackr-map-extension',
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
export const msgpackrMapExtensionVite = {
  name: 'msgpackr-map-extension',
  enforce: 'pre' as const,
  transform(code: string, id: string): string | null {
    const file = id.split('?')[0]!;
    return FILES.test(file) ? patchMsgpackr(code, file) : null;
  },
};
