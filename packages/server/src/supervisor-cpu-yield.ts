import { availableParallelism } from 'node:os';

/**
 * Whether the supervisor's own caller may give its CPU away while it spins
 * for a reply (CallerEngineConfig.yieldCpu).
 *
 * Not where the process may use two CPUs or more: its calls share the
 * process with crash handling, admission and heartbeats, and Linux answers
 * each sched_yield by pushing the yielder's deadline a slice back. Measured on
 * 2 CPUs (randomKills, the supervisor also calling): a yielding supervisor
 * waited on the run queue 91% of the time, its event loop stalled for up to
 * 300 ms and kill-to-replacement took 271 ms at p99; without its yields it
 * waited 35% and recovery p99 fell to 112 ms. It still yields once to a
 * worker it has just woken (Waiter.yieldToWokenPeer).
 *
 * Where it may use one CPU only (a one-CPU machine, or an affinity or cpuset
 * that leaves it one), a spin that never yields holds the CPU the worker
 * needs to answer: the worker runs only when the scheduler preempts the
 * supervisor. Pipelined x64 with everything pinned to one CPU, the
 * supervisor's own calls made 58 k calls/s at 16 B and 3.6 k at 64 KiB
 * without yields, 1.05-1.08 M and 38-44 k with them (docs/benchmarks-history.md,
 * twenty-fifth session). `cpus`: os.availableParallelism(), which counts the
 * CPUs this process's affinity allows.
 */
export function supervisorYieldsCpu(cpus: number = availableParallelism()): boolean {
  return cpus <= 1;
}
