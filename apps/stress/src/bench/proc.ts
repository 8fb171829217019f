import { readdirSync, readFileSync } from 'node:fs';
import type { RssSample } from './types.js';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;
const MICROS_PER_TICK = 1_000_000 / TICKS_PER_SECOND;

/**
 * Field `field` of /proc/<pid>/task/<tid>/schedstat summed over every live
 * thread of `pid` (0: ns on a CPU, 2: times put on a CPU), or -1 if the
 * process is gone or has no schedstat.
 */
function schedstatSum(pid: number, field: 0 | 2): number {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return -1;
  }
  let sum = 0;
  for (const tid of tids) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[field]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return sum > 0 ? sum : -1;
}

/** On-CPU time of every live thread of `pid` (schedstat, ns), in µs, or -1. */
function schedstatCpuUs(pid: number): number {
  const ns = schedstatSum(pid, 0);
  return ns >= 0 ? ns / 1000 : -1;
}

/** utime + stime of the whole process from /proc/<pid>/stat, in µs (10 ms resolution), or 0 if it is gone. */
function statCpuUs(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return 0;
  }
  // The command name (field 2) may hold spaces and ')': fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MICROS_PER_TICK;
}

/**
 * CPU time of another process in microseconds: the sum of its threads'
 * on-CPU time (schedstat, nanosecond resolution) — the outside view of what
 * process.cpuUsage() reports inside it — or, where schedstat is missing,
 * utime + stime from /proc/<pid>/stat (10 ms ticks). 0 for a process that is gone.
 */
export function processCpuUs(pid: number): number {
  const precise = schedstatCpuUs(pid);
  return precise >= 0 ? precise : statCpuUs(pid);
}

/**
 * How many times the threads of `pid` were put on a CPU so far (the third
 * schedstat field, summed), or 0: on an idle process, its wake-ups.
 */
export function processRunsOf(pid: number): number {
  return Math.max(0, schedstatSum(pid, 2));
}

export function totalCpuUs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += processCpuUs(pid);
  return total;
}

/** Minor page faults of a process so far (/proc/<pid>/stat field 10), or 0 if it is gone. */
export function minorFaultsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
  } catch {
    return 0;
  }
}

export function totalMinorFaults(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += minorFaultsOf(pid);
  return total;
}

/** This process's CPU (user + system) in microseconds, exact. */
export function ownCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function statusKiB(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return match === null ? 0 : Number(match[1]);
}

/** Resident memory of a process: total, anonymous (its heap) and shared (mapped segment pages it touched). */
export function rssOf(pid: number): RssSample {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    // gone: zeros
  }
  return {
    pid,
    rssKiB: statusKiB(status, 'VmRSS'),
    anonKiB: statusKiB(status, 'RssAnon'),
    shmemKiB: statusKiB(status, 'RssShmem'),
  };
}

/** Jiffies of all CPUs together from /proc/stat: [busy, total]. */
function machineJiffies(): [number, number] {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
    const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = values.reduce((sum, value) => sum + value, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return [total - idle, total];
  } catch {
    return [0, 0];
  }
}

/**
 * CPU jiffies of this process and of every descendant it (and they) reaped:
 * utime + stime + cutime + cstime from /proc/self/stat.
 */
function ownTreeJiffies(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  } catch {
    return 0;
  }
}

/**
 * Measures how much of the machine something else used while a job ran:
 * all CPUs' busy time minus what this process tree used, as a percentage of
 * all CPUs' time. Call stop() once the job's processes have been reaped.
 */
export function foreignLoad(): { stop: () => number } {
  const [busy0, total0] = machineJiffies();
  const own0 = ownTreeJiffies();
  return {
    stop() {
      const [busy1, total1] = machineJiffies();
      const total = total1 - total0;
      if (total <= 0) return 0;
      return Math.max(0, ((busy1 - busy0 - (ownTreeJiffies() - own0)) / total) * 100);
    },
  };
}
