import { lstatSync } from 'node:fs';
import { SharedSegment } from '@phoenix-ipc/native-shm';
import {
  monotonicNowMs,
  PhoenixShmLayout,
  type ResolvedLayoutOptions,
  SegmentDescriptor,
  SlotState,
  SUPERVISOR_SLOT,
  type WorkerChannel,
} from '@phoenix-ipc/shm-layout';
import { failure } from './errors.js';
import { type Cell, formatBytes, formatDuration, keyValues, roundMs, table } from './format.js';
import { lockHolders, processRuns, readLocks } from './processes.js';
import { SHM_DIR, SLOT_STATE_NAMES, SUPERVISOR_STATE_NAMES, stateName, WORKER_STATE_NAMES } from './segments.js';

/** A request a worker lane is running: from its ThreadMonitor. */
export interface InFlightReport {
  lane: number;
  seqId: number;
  funcId: number;
  attempt: number;
  /** Caller slot the request came from. */
  slot: number;
  /** CLOCK_MONOTONIC ms at which the worker began it. */
  startTimestamp: number;
  /** How long it has been running: now - startTimestamp on the shared monotonic clock. */
  forMs: number;
}

/** Queue depths of one (worker, caller slot) channel: messages in its request and response rings. */
export interface QueueReport {
  slot: number;
  request: number | null;
  response: number | null;
  /** Set when a ring failed validation (its sizes are then null). */
  error?: string;
}

export interface WorkerReport {
  group: 'normal' | 'vip';
  index: number;
  pid: number;
  /** Its process runs (pid + start time); null when no pid is recorded. */
  alive: boolean | null;
  state: string;
  generation: number;
  crashes: number;
  restarts: number;
  /** For a restarting worker: when its replacement is due (ms from now). */
  restartInMs: number | null;
  /** Requests sent to it and not answered yet (the callers' PENDING counter). */
  pending: number;
  /** Of those, queued and not started yet (walks its request rings). */
  queued: number;
  processed: number;
  failed: number;
  inFlight: InFlightReport[];
  /** Sum of `queues[].request` / `queues[].response`. */
  requestQueue: number;
  responseQueue: number;
  /** One entry per caller slot that is not FREE. */
  queues: QueueReport[];
}

export interface SlotReport {
  index: number;
  role: 'supervisor' | 'client';
  state: string;
  pid: number;
  alive: boolean | null;
  generation: number;
  /** The caller's unanswered requests, summed over workers. */
  outstanding: number;
}

export interface SupervisorReport {
  pid: number;
  startTime: number;
  alive: boolean;
  state: string;
  epoch: number;
  heartbeat: number;
  /** ms since the supervisor's last heartbeat (shared monotonic clock); null before the first. */
  heartbeatAgeMs: number | null;
  /** Processes holding the segment's lock (the live supervisor holds it). */
  lockedBy: number[];
}

export interface InspectReport {
  name: string;
  /** Wall-clock time of the snapshot (ISO 8601). */
  at: string;
  size: number;
  version: number;
  supervisor: SupervisorReport;
  options: ResolvedLayoutOptions;
  workers: WorkerReport[];
  /** Warm spare workers booted and waiting for an index, per group (spareWorkers). */
  sparesReady: { normal: number; vip: number };
  slots: SlotReport[];
}

/** Opens `name` read-only, reads a report and closes the mapping. Throws CliError (exit 1) when it cannot. */
export function inspectSegment(name: string): InspectReport {
  let segment: SharedSegment;
  try {
    segment = SharedSegment.open(name, { readOnly: true });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_PHOENIX_SEGMENT_NOT_FOUND')
      throw failure(`no segment named ${name}`);
    throw failure(`cannot open ${name}: ${(error as Error).message}`);
  }
  try {
    const probe = PhoenixShmLayout.probe(segment.buffer);
    if (probe.kind === 'not-ready') throw failure(`segment ${name} is still being created: ${probe.reason}`);
    if (probe.kind === 'foreign') throw failure(`${name} is not a PhoenixIPC segment (${probe.reason})`);
    let layout: PhoenixShmLayout;
    try {
      layout = PhoenixShmLayout.attach(segment.buffer);
    } catch (error) {
      throw failure(`segment ${name} is damaged: ${(error as Error).message}`);
    }
    let lockedBy: number[] = [];
    try {
      lockedBy = lockHolders(readLocks(), lstatSync(`${SHM_DIR}${name}`, { bigint: true }).dev, segment.stat().inode);
    } catch {
      // no /dev/shm path (non-Linux): no lock information
    }
    return readReport(name, segment.size, layout, lockedBy);
  } finally {
    segment.close();
  }
}

function readReport(name: string, size: number, layout: PhoenixShmLayout, lockedBy: number[]): InspectReport {
  const heartbeat = layout.heartbeat;
  const supervisorStartTime = layout.supervisorStartTime;
  const supervisor: SupervisorReport = {
    pid: layout.supervisorPid,
    startTime: supervisorStartTime,
    alive: processRuns(layout.supervisorPid, supervisorStartTime),
    state: stateName(SUPERVISOR_STATE_NAMES, layout.supervisorState),
    epoch: layout.epoch,
    heartbeat: heartbeat.count,
    heartbeatAgeMs: heartbeat.at > 0 ? roundMs(Math.max(0, monotonicNowMs() - heartbeat.at)) : null,
    lockedBy,
  };
  const slots: SlotReport[] = layout.slots.map((slot) => {
    const pid = slot.pid;
    // The supervisor records no start time in its own slot: its header has it.
    const startTime =
      slot.pidStartTime > 0 ? slot.pidStartTime : slot.index === SUPERVISOR_SLOT ? supervisorStartTime : 0;
    let outstanding = 0;
    for (const channel of layout.channels) outstanding += Math.max(0, slot.outstanding(channel.globalIndex));
    return {
      index: slot.index,
      role: slot.index === SUPERVISOR_SLOT ? 'supervisor' : 'client',
      state: stateName(SLOT_STATE_NAMES, slot.state),
      pid,
      alive: pid > 0 ? processRuns(pid, startTime) : null,
      generation: slot.generation,
      outstanding,
    };
  });
  const connected = layout.slots.filter((slot) => slot.state !== SlotState.Free).map((slot) => slot.index);
  const workers = layout.channels.map((channel) => readWorker(layout, channel, connected));
  return {
    name,
    at: new Date().toISOString(),
    size,
    version: Atomics.load(layout.views.words, SegmentDescriptor.VERSION_OFFSET >> 2),
    supervisor,
    options: { ...layout.options },
    workers,
    sparesReady: { normal: layout.sparesReady('normal'), vip: layout.sparesReady('vip') },
    slots,
  };
}

function readWorker(layout: PhoenixShmLayout, channel: WorkerChannel, connected: readonly number[]): WorkerReport {
  const inFlight: InFlightReport[] = [];
  let processed = 0;
  let failed = 0;
  channel.monitors.forEach((monitor, lane) => {
    const snapshot = monitor.snapshot();
    processed += snapshot.processed;
    failed += snapshot.failed;
    if (snapshot.processing) {
      inFlight.push({
        lane,
        seqId: snapshot.seqId,
        funcId: snapshot.funcId,
        attempt: snapshot.attempt,
        slot: snapshot.slot,
        startTimestamp: snapshot.startTimestamp,
        forMs: roundMs(Math.max(0, monotonicNowMs() - snapshot.startTimestamp)),
      });
    }
  });
  const queues: QueueReport[] = connected.map((slot) => {
    try {
      // Throwaway ring objects: size() only reads the published indices.
      const request = channel.attachRequestRing(slot).size();
      const response = channel.attachResponseRing(slot).size();
      return { slot, request, response };
    } catch (error) {
      return { slot, request: null, response: null, error: (error as Error).message };
    }
  });
  const pid = channel.pid;
  const restartAt = channel.restartAt;
  const state = stateName(WORKER_STATE_NAMES, channel.state);
  return {
    group: channel.group,
    index: channel.index,
    pid,
    alive: pid > 0 ? processRuns(pid, channel.pidStartTime) : null,
    state,
    generation: channel.generation,
    crashes: channel.crashes,
    restarts: channel.restarts,
    restartInMs: restartAt > 0 && state === 'restarting' ? roundMs(restartAt - monotonicNowMs()) : null,
    pending: channel.pending,
    queued: layout.queuedRequests(channel),
    processed,
    failed,
    inFlight,
    requestQueue: queues.reduce((sum, queue) => sum + (queue.request ?? 0), 0),
    responseQueue: queues.reduce((sum, queue) => sum + (queue.response ?? 0), 0),
    queues,
  };
}

// ------------------------------------------------------------------ text

function inFlightText(worker: WorkerReport): string {
  if (worker.inFlight.length === 0) return '-';
  const oldest = [...worker.inFlight].sort((a, b) => b.forMs - a.forMs)[0]!;
  const more = worker.inFlight.length > 1 ? ` (+${worker.inFlight.length - 1})` : '';
  return `seq ${oldest.seqId} for ${formatDuration(oldest.forMs)}${more}`;
}

function yesNo(value: boolean | null): Cell {
  return value === null ? '-' : value ? 'yes' : 'no';
}

/** The human-readable report: aligned tables. */
export function renderInspect(report: InspectReport): string {
  const s = report.supervisor;
  const lines: string[] = [];
  lines.push(
    `${report.name}  ${formatBytes(report.size)}  version ${report.version}  epoch ${s.epoch}  at ${report.at}`,
  );
  lines.push(
    `supervisor  pid ${s.pid}  ${s.alive ? 'alive' : 'GONE'}  ${s.state}  heartbeat #${s.heartbeat}${s.heartbeatAgeMs === null ? '' : ` ${formatDuration(s.heartbeatAgeMs)} ago`}${s.lockedBy.length > 0 ? `  lock held by ${s.lockedBy.join(', ')}` : ''}`,
  );
  lines.push(
    `spares      ${report.sparesReady.normal} normal, ${report.sparesReady.vip} VIP ready (warm worker processes)`,
  );
  lines.push('', 'WORKERS');
  lines.push(
    table(
      [
        'GROUP',
        '#',
        'PID',
        'ALIVE',
        'STATE',
        'GEN',
        'IN-FLIGHT',
        'PENDING',
        'QUEUED',
        'PROCESSED',
        'FAILED',
        'CRASHES',
        'RESTARTS',
      ],
      report.workers.map((w) => [
        w.group,
        w.index,
        w.pid > 0 ? w.pid : '-',
        yesNo(w.alive),
        w.restartInMs !== null ? `${w.state} (in ${formatDuration(Math.max(0, w.restartInMs))})` : w.state,
        w.generation,
        inFlightText(w),
        w.pending,
        w.queued,
        w.processed,
        w.failed,
        w.crashes,
        w.restarts,
      ]),
    ),
  );
  const connected = report.slots.filter((slot) => slot.state !== 'free');
  const free = report.slots.length - connected.length;
  lines.push('', `CONNECTION SLOTS  (${connected.length} in use, ${free} free)`);
  lines.push(
    table(
      ['SLOT', 'ROLE', 'STATE', 'PID', 'ALIVE', 'GEN', 'OUTSTANDING'],
      connected.map((slot) => [
        slot.index,
        slot.role,
        slot.state,
        slot.pid > 0 ? slot.pid : '-',
        yesNo(slot.alive),
        slot.generation,
        slot.outstanding,
      ]),
    ),
  );
  lines.push('', 'QUEUES  (request/response ring sizes per worker and connected slot)');
  lines.push(
    table(
      ['WORKER', ...connected.map((slot) => `SLOT ${slot.index}`), 'TOTAL'],
      report.workers.map((w) => [
        `${w.group} ${w.index}`,
        ...connected.map((slot) => {
          const queue = w.queues.find((q) => q.slot === slot.index);
          return queue === undefined || queue.error !== undefined ? 'bad' : `${queue.request}/${queue.response}`;
        }),
        `${w.requestQueue}/${w.responseQueue}`,
      ]),
    ),
  );
  lines.push('', 'CONFIGURATION');
  lines.push(keyValues(Object.entries(report.options) as [string, Cell][], '  '));
  return lines.join('\n');
}
