/**
 * Garbage collections by kind, counted from perf_hooks 'gc' entries: in the
 * bench's own process (observeGc, around a run) and in an echo worker, which
 * answers GC_STATS_FUNC_ID with its counts since it started, so that the
 * one-million-call run can judge the worker's garbage as well as the caller's.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from '@phoenix-ipc/server';
import type { GcSummary } from './jobs.js';

/** The func id of an echo worker's GC counts (a JSON GcSummary). */
export const GC_STATS_FUNC_ID = 1002;

function emptySummary(): GcSummary {
  return { count: 0, minor: 0, major: 0, incremental: 0, other: 0, pauseMs: 0 };
}

function countInto(summary: GcSummary): PerformanceObserver {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      summary.count++;
      summary.pauseMs += entry.duration;
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      // NODE_PERFORMANCE_GC_MINOR 1, _MAJOR 4, _INCREMENTAL 8, _WEAKCB 16
      if (kind === 1) summary.minor++;
      else if (kind === 4) summary.major++;
      else if (kind === 8) summary.incremental++;
      else summary.other++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return observer;
}

/** Counts this process's GCs until stop(). */
export function observeGc(): { stop: () => Promise<GcSummary> } {
  const summary = emptySummary();
  const observer = countInto(summary);
  return {
    async stop() {
      await sleep(50); // entries are delivered asynchronously
      observer.disconnect();
      return summary;
    },
  };
}

/** For a worker: counts its GCs from now on and answers GC_STATS_FUNC_ID with them. */
export function gcStatsHandler(): Handler {
  const summary = emptySummary();
  countInto(summary);
  return (_header, _payload, response, responsePayload) => {
    const bytes = Buffer.from(JSON.stringify(summary));
    responsePayload.set(bytes);
    response.payloadLen = bytes.length;
  };
}

/** `later` minus `earlier`: the GCs in between. */
export function gcBetween(earlier: GcSummary, later: GcSummary): GcSummary {
  return {
    count: later.count - earlier.count,
    minor: later.minor - earlier.minor,
    major: later.major - earlier.major,
    incremental: later.incremental - earlier.incremental,
    other: later.other - earlier.other,
    pauseMs: later.pauseMs - earlier.pauseMs,
  };
}
