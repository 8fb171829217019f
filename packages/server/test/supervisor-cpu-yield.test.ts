import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { supervisorYieldsCpu } from '../src/supervisor-cpu-yield.js';

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((path) => existsSync(path));

describe("the supervisor's own caller", () => {
  it('gives its CPU away while it spins only where it has one CPU', () => {
    expect(supervisorYieldsCpu(1)).toBe(true);
    expect(supervisorYieldsCpu(2)).toBe(false);
    expect(supervisorYieldsCpu(64)).toBe(false);
  });

  it.runIf(TASKSET !== undefined)('counts one CPU in a process whose affinity allows one (taskset -c 0)', () => {
    // The decision's default reads os.availableParallelism(): Node counts the CPUs of the affinity mask.
    const cpus = execFileSync(
      TASKSET!,
      ['-c', '0', process.execPath, '-p', 'require("node:os").availableParallelism()'],
      {
        encoding: 'utf8',
      },
    );
    expect(Number(cpus.trim())).toBe(1);
  });
});
