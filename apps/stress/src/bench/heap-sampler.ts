/**
 * Where a process allocates, garbage included: V8's sampling heap profiler
 * (every ~256 B) through the inspector, summed per allocation site. The
 * caller probe samples itself; an echo worker samples itself on request
 * (HEAP_SAMPLE_FUNC_ID), so that the probe can show the worker's sites too.
 */
import { Session } from 'node:inspector/promises';
import type { Handler } from '@phoenix-ipc/server';

/** The func id of an echo worker's heap sampler: payload "start", then "stop" (replies with the top sites as text). */
export const HEAP_SAMPLE_FUNC_ID = 1003;

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Samples this process's allocations from start() to stop(). */
export class HeapSampler {
  #session: Session | null = null;

  async start(): Promise<void> {
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
    this.#session = session;
  }

  /** The `top` sites by bytes, as lines of "bytes per call  site <- caller". */
  async stop(calls: number, top = 25): Promise<string> {
    const session = this.#session;
    if (session === null) return 'the sampler was not started\n';
    this.#session = null;
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
      profile: { head: ProfileNode };
    };
    session.disconnect();
    const sites: [string, number][] = [];
    const walk = (node: ProfileNode, path: string) => {
      const frame = node.callFrame;
      const here = `${frame.functionName || '(anon)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
      if (node.selfSize > 0) sites.push([`${here}  <- ${path}`, node.selfSize]);
      for (const child of node.children) walk(child, here);
    };
    walk(profile.head, '');
    sites.sort((a, b) => b[1] - a[1]);
    return sites
      .slice(0, top)
      .map(([site, bytes]) => `${(bytes / calls).toFixed(1).padStart(8)} B/call  ${site}\n`)
      .join('');
  }
}

/** For a worker: "start" starts sampling; "stop <calls>" stops and replies with the top sites per call. */
export function heapSampleHandler(): Handler {
  const sampler = new HeapSampler();
  return async (_header, payload) => {
    const [command, calls] = Buffer.from(payload).toString().split(' ');
    if (command === 'start') {
      await sampler.start();
      return new Uint8Array(0);
    }
    return Buffer.from(await sampler.stop(Number(calls) || 1));
  };
}
