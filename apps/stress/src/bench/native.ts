/**
 * The C limit: bench-native/pingpong.c, compiled by the benchmark itself with
 * the system compiler, run once per payload size (see the program's header
 * for its topology). Its latency samples come back as a file of u32
 * nanoseconds and go through the same histogram as everything else.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { latencyHistogram, summarize } from './histogram.js';
import type { RunPlan, SizeResult, TransportResult } from './types.js';

const run = promisify(execFile);

export type NativeMode = 'spin' | 'eventfd';

/**
 * Compiles one self-contained C file of bench-native/ into `outDir/<name>`
 * with the system compiler (cc, else gcc); returns the binary's path and the
 * compiler used.
 */
export async function compileC(
  source: string,
  outDir: string,
  name: string,
  libraries: string[],
): Promise<{ binary: string; compiler: string }> {
  if (!existsSync(source)) throw new Error(`the C source ${source} is missing`);
  const binary = join(outDir, name);
  const errors: string[] = [];
  for (const compiler of ['cc', 'gcc']) {
    try {
      await run(compiler, ['-O2', '-std=c11', '-Wall', '-o', binary, source, ...libraries], { timeout: 60_000 });
      const { stdout } = await run(compiler, ['--version']);
      return { binary, compiler: `${compiler} (${stdout.split('\n')[0]})` };
    } catch (error) {
      errors.push(`${compiler}: ${(error as Error).message.split('\n').slice(0, 4).join(' ')}`);
    }
  }
  throw new Error(`could not compile ${source}: ${errors.join('; ')}`);
}

/** Compiles pingpong.c into `outDir`; returns the binary's path and the compiler used. */
export function compilePingPong(source: string, outDir: string): Promise<{ binary: string; compiler: string }> {
  return compileC(source, outDir, 'pingpong', ['-lrt']);
}

interface NativeOutput {
  payloadBytes: number;
  latency: { calls: number; ns: number; callerCpuUs: number; peerCpuUs: number };
  pipelined: { calls: number; ns: number; inFlight: number; callerCpuUs: number; peerCpuUs: number };
  idle: { ns: number; callerCpuUs: number; peerCpuUs: number };
  verified: number;
  mismatches: number;
  echoPid: number;
}

export async function measureNative(
  binary: string,
  mode: NativeMode,
  plan: RunPlan,
  workDir: string,
): Promise<TransportResult> {
  const started = performance.now();
  const sizes: SizeResult[] = [];
  let verified = 0;
  let idleResult: TransportResult['idle'] = null;
  for (const [index, size] of plan.sizes.entries()) {
    const last = index === plan.sizes.length - 1;
    const samplesFile = join(workDir, `samples-${mode}-${size}-${process.pid}.u32`);
    // Warm-up: the plan's warm-up time (at most 100 k calls); with no warm-up time (--quick), its call count.
    const warmupCalls = plan.latency.warmupMs > 0 ? 100_000 : plan.latency.warmupCalls;
    const args = [
      mode,
      String(size),
      String(warmupCalls),
      String(plan.latency.warmupMs > 0 ? plan.latency.warmupMs : 60_000),
      String(plan.latency.maxCalls),
      String(plan.latency.maxMs),
      String(plan.throughput.maxCalls),
      String(plan.throughput.maxMs),
      String(plan.inFlight),
      String(last ? plan.idleMs : 0),
      samplesFile,
    ];
    const { stdout } = await run(binary, args, { timeout: 120_000 });
    const output = JSON.parse(stdout) as NativeOutput;
    if (output.mismatches !== 0) {
      throw new Error(
        `C ${mode} ${size} B: ${output.mismatches} of ${output.verified} replies differ from their request`,
      );
    }
    verified += output.verified;
    // A copy: readFileSync may hand back a view into a shared pool, at any byte offset.
    const samples = new Uint32Array(new Uint8Array(readFileSync(samplesFile)).buffer);
    rmSync(samplesFile, { force: true });
    const histogram = latencyHistogram();
    for (const ns of samples) histogram.recordValue(Math.max(1, ns));
    const latency = output.latency;
    const pipelined = output.pipelined;
    const seconds = pipelined.ns / 1e9;
    sizes.push({
      payloadBytes: size,
      latency: {
        ...summarize(histogram),
        callerCpuUs: latency.callerCpuUs / latency.calls,
        peerCpuUs: latency.peerCpuUs / latency.calls,
      },
      throughput: {
        calls: pipelined.calls,
        inFlight: pipelined.inFlight,
        seconds,
        msgsPerSec: pipelined.calls / seconds,
        mbPerSec: (pipelined.calls * size) / seconds / 1e6,
        callerCpuUs: pipelined.callerCpuUs / pipelined.calls,
        peerCpuUs: pipelined.peerCpuUs / pipelined.calls,
      },
    });
    histogram.destroy();
    if (last && plan.idleMs > 0) {
      const ms = output.idle.ns / 1e6;
      const percent = (cpuUs: number) => (cpuUs / (ms * 1000)) * 100;
      idleResult = {
        windowMs: Math.round(ms),
        percentOfCore: percent(output.idle.callerCpuUs + output.idle.peerCpuUs),
        processes: 2,
        breakdown: [
          { role: 'caller', pid: 0, percentOfCore: percent(output.idle.callerCpuUs) },
          { role: 'echo', pid: output.echoPid, percentOfCore: percent(output.idle.peerCpuUs) },
        ],
      };
    }
  }
  return {
    id: `c-${mode}`,
    label: `C, two processes, POSIX shm rings, ${mode === 'spin' ? 'busy-spin' : 'eventfd'}`,
    kind: 'process',
    sizes,
    idle: idleResult,
    verified,
    durationMs: Math.round(performance.now() - started),
  };
}
