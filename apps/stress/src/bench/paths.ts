import { fileURLToPath } from 'node:url';

/**
 * Where the built bench scripts are. bench-main (an entry at the root of
 * dist/) sets PHOENIX_BENCH_DIST for itself and every process it starts;
 * shared code cannot use its own import.meta.url, which names whatever
 * chunk the bundler put it in.
 */
export const DIST_ENV = 'PHOENIX_BENCH_DIST';

function distDir(): string {
  const dir = process.env[DIST_ENV];
  if (dir === undefined || dir === '')
    throw new Error(`${DIST_ENV} is not set: start the benchmark with bench-main.js`);
  return dir;
}

/** The built script of a peer (src/bench/peers/<name>.ts). */
export function peerScript(name: string): string {
  return fileURLToPath(new URL(`bench/peers/${name}.js`, `file://${distDir()}/`));
}
