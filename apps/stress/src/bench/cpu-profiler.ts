/**
 * A CPU profile of one process, through the inspector. `node --cpu-prof` on
 * the caller probe profiles the server's processes too (they inherit its
 * execArgv), and slowing both sides changes which one waits: this profiles
 * the one process asked for. The caller probe profiles itself; an echo
 * worker profiles itself on request (CPU_PROFILE_FUNC_ID).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { Handler } from '@phoenix-ipc/server';

/** The func id of an echo worker's CPU profiler: payload "start", then "stop <file>" (writes the .cpuprofile). */
export const CPU_PROFILE_FUNC_ID = 1004;

/** Profiles this process from start() to stop(). */
export class CpuProfiler {
  #session: Session | null = null;

  /** `intervalUs`: the sampling interval (V8's default is 1000). */
  async start(intervalUs = 100): Promise<void> {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    this.#session = session;
  }

  /** Writes the profile to `file` (open it in Chrome DevTools or speedscope). */
  async stop(file: string): Promise<void> {
    const session = this.#session;
    if (session === null) throw new Error('the CPU profiler was not started');
    this.#session = null;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
  }
}

/** For a worker: "start" starts profiling; "stop <file>" writes the profile to that file. */
export function cpuProfileHandler(): Handler {
  const profiler = new CpuProfiler();
  return async (_header, payload) => {
    const [command, file] = Buffer.from(payload).toString().split(' ');
    if (command === 'start') await profiler.start();
    else await profiler.stop(file!);
    return new Uint8Array(0);
  };
}
