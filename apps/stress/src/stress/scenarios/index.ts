import type { Scenario } from '../scenario.js';
import { clientCrashScenarios } from './client-crash.js';
import { corruptSegmentScenarios } from './corrupt-segment.js';
import { hangScenarios } from './hang.js';
import { idleScenarios } from './idle.js';
import { performanceScenarios } from './performance.js';
import { performancePeerScenarios } from './performance-peers.js';
import { ringScenarios } from './ring.js';
import { stabilityScenarios } from './stability.js';
import { supervisorRestartScenarios } from './supervisor-restart.js';
import { workerCrashScenarios } from './worker-crash.js';

/** Every scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [
  ...ringScenarios,
  ...workerCrashScenarios,
  ...clientCrashScenarios,
  ...supervisorRestartScenarios,
  ...hangScenarios,
  ...corruptSegmentScenarios,
  ...stabilityScenarios,
  ...performanceScenarios,
  ...performancePeerScenarios,
  ...idleScenarios,
];
