/** Help texts of the phoenix CLI. */

export const COMMANDS = ['list', 'inspect', 'clean'] as const;
export type Command = (typeof COMMANDS)[number];

export const MAIN_HELP = `phoenix - look at PhoenixIPC shared-memory segments, and remove stale ones

Usage:
  phoenix list [--prefix <p>] [--json]
  phoenix inspect <name> [--watch [ms]] [--json]
  phoenix clean [<name>...] [--prefix <p>] [--dry-run] [--json]
  phoenix help [<command>]
  phoenix --help | --version

Commands:
  list      every segment in /dev/shm: status (alive, stale, creating, foreign),
            owner pid, size, version, epoch, connected clients, workers
  inspect   one segment: supervisor, workers (state, in-flight call and for how
            long, counters), connection slots, queue depths, configuration
  clean     removes stale PhoenixIPC segments (their supervisor is gone); never
            a live segment, a foreign file, or one a live process is creating

A segment name is "/name" ("name" and "/dev/shm/name" are accepted too).
Segments are mapped read-only and copy-on-write: phoenix never writes to one.
Output is an aligned table; --json prints one JSON document instead.

Exit codes: 0 success, 1 failure (e.g. no such segment), 2 invalid usage.
Run 'phoenix <command> --help' for a command's options and output fields.`;

export const COMMAND_HELP: Record<Command, string> = {
  list: `Usage: phoenix list [--prefix <p>] [--json]

Lists the entries of /dev/shm, PhoenixIPC segments or not:
  NAME      segment name (/name = /dev/shm/name)
  STATUS    alive       a PhoenixIPC segment whose supervisor runs
            stale       its supervisor is gone (pid + start time name no
                        running process): 'phoenix clean' removes it
            creating    being created or formatted by a live process
            incomplete  empty or zero-filled, unowned, older than 10 s: nothing
                        proves it is a PhoenixIPC segment, so it is left alone
            foreign     not a PhoenixIPC segment (or another version, damaged)
            unreadable  could not be opened (permissions)
  PID       the supervisor's pid, from the segment header
  SIZE      file size
  VERSION   layout version (0 while being formatted)
  EPOCH     1 for a fresh name, +1 on every takeover of a stale one
  CLIENTS   connected client processes (active caller slots but the supervisor's)
  WORKERS   running / configured worker processes
  NOTE      why it has its status; what keeps a stale segment from clean

Options:
  --prefix <p>  only names starting with <p> ("/" optional)
  --json        one JSON document: {"dir", "segments": [...]}, sizes in bytes
  -h, --help    this help`,
  inspect: `Usage: phoenix inspect <name> [--watch [ms]] [--json]

Shows one segment, read through a read-only, copy-on-write mapping:
  supervisor        pid, alive, state, epoch, heartbeat count and age, lock holders
  spares            warm spare worker processes ready per group (JSON: sparesReady)
  WORKERS           group, index, pid, alive, state, generation; IN-FLIGHT: the
                    seq id a worker runs and for how long (now - the start stamp
                    in its monitor, on the shared monotonic clock); PENDING (sent,
                    not answered), QUEUED (not started yet), PROCESSED, FAILED,
                    CRASHES, RESTARTS
  CONNECTION SLOTS  index, role, state, pid, alive, generation, outstanding calls
  QUEUES            per worker and connected slot: messages in the request ring
                    / in the response ring
  CONFIGURATION     the options the segment was formatted with

Options:
  --watch [ms]  redraw every ms milliseconds (default 1000) until Ctrl-C; with
                --json, one JSON document per line
  --json        one JSON document
  -h, --help    this help

Fails (exit 1) when there is no such segment, it is not a PhoenixIPC segment,
or it is still being created.`,
  clean: `Usage: phoenix clean [<name>...] [--prefix <p>] [--dry-run] [--json]

Removes stale PhoenixIPC segments: a valid PhoenixIPC header whose supervisor
(pid + start time) no longer runs, whose lock no process holds and none of
whose workers still runs. Never a live segment, never a foreign file, never a
segment a live process is still creating. Prints what it removed and a summary
of what it left alone. Processes that still map a removed segment keep their
mapping: only the name goes.

  <name>...     only these segments (default: every entry of /dev/shm)

Options:
  --prefix <p>  only names starting with <p>
  --dry-run     show what would be removed; remove nothing
  --json        one JSON document: {"dryRun", "removed", "kept", "failed"}
  -h, --help    this help

Exit code 1 if a named segment does not exist or an unlink failed.`,
};
