/** What bench-main prints about the machine, the code measured and the segment layout before the jobs run. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LAYOUT_OPTIONS, PhoenixShmLayout } from '@phoenix-ipc/shm-layout';
import { formatBytes } from './report.js';

/** The commit being measured, and whether packages/ differs from it (built from uncommitted changes). */
function sourceRevision(): string {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: dirname(fileURLToPath(import.meta.url)), encoding: 'utf8' }).trim();
  try {
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', '../../../packages'])
      .split('\n')
      .filter((line) => line !== '').length;
    return dirty === 0 ? commit : `${commit} + ${dirty} uncommitted change(s) in packages/`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export function machineFacts(): Record<string, string> {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString(),
    nproc: String(availableParallelism()),
    cpu,
    kernel: release(),
    node: process.version,
    revision: sourceRevision(),
    loadavg: loadavg()
      .map((load) => load.toFixed(2))
      .join(' '),
  };
}

export function layoutFacts(): { lines: string[]; json: Record<string, number> } {
  const size = (options: Parameters<typeof PhoenixShmLayout.requiredSize>[0]) => PhoenixShmLayout.requiredSize(options);
  const defaults = size({});
  const json = {
    defaults,
    perNormalWorker: size({ normalWorkers: 5 }) - defaults,
    perVipWorker: size({ vipWorkers: 3 }) - defaults,
    perClient: size({ maxClients: 17 }) - defaults,
    benchOneWorker: size({ normalWorkers: 1, vipWorkers: 0, maxClients: 4 }),
  };
  return {
    json,
    lines: [
      `PhoenixShmLayout.requiredSize(), defaults (4 normal + 2 VIP workers, 16 clients, ${DEFAULT_LAYOUT_OPTIONS.maxPayloadBytes / 1024} KiB payloads, queues ${DEFAULT_LAYOUT_OPTIONS.normalQueueCapacity}/${DEFAULT_LAYOUT_OPTIONS.vipQueueCapacity}): ${formatBytes(json.defaults)} (${json.defaults} B)`,
      `  + per added normal worker: ${formatBytes(json.perNormalWorker)}; per added VIP worker: ${formatBytes(json.perVipWorker)}; per added client: ${formatBytes(json.perClient)}`,
      `  this benchmark's servers (1 worker, 0 VIP, 4 clients): ${formatBytes(json.benchOneWorker)}`,
    ],
  };
}
