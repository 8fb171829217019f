/**
 * The exit statuses a worker process chooses itself: the contract between
 * worker-host.ts, which exits with them, and the supervisor's crash policy
 * (crash-policy.ts classifyExit), which reads them. They live apart from
 * both so the pure policy need not load the worker side. Any other non-zero
 * status is a crash of the handler code or of Node itself.
 */

/** The process is not the child of the supervisor named in its environment: that one died before the worker looked. */
export const EXIT_NOT_SUPERVISED = 70;
/** The IPC channel to the supervisor closed: the supervisor is gone and nobody is left to serve. */
export const EXIT_SUPERVISOR_GONE = 71;
/** The worker met a corrupt channel; the supervisor reformats it before a replacement starts. */
export const EXIT_CORRUPT_CHANNEL = 75;
