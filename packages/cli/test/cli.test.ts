// Over 400 lines on purpose: the phoenix command end to end, against live servers, stale segments and foreign
// files, with one set of process helpers for all of them.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { processesMentioning, type ScriptProcess, sleep, waitUntil } from '@phoenix-ipc/test-kit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_SCRIPT, Harness } from '../../server/test/harness.js';
import { CLI, phoenix } from './run-phoenix.js';

const CREATING_SCRIPT = fileURLToPath(new URL('./fixtures/cli-creating.mjs', import.meta.url));
const SLOW_ECHO = 1003;

const harness = new Harness();
afterEach(() => harness.cleanup());

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build the package first (npx tsup)`);
});

async function phoenixJson<T>(args: string[]): Promise<T> {
  const run = await phoenix([...args, '--json']);
  if (run.code !== 0) throw new Error(`phoenix ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

interface ListEntry {
  name: string;
  status: string;
  pid: number | null;
  size: number;
  version: number | null;
  epoch: number | null;
  clients: number | null;
  workers: number | null;
  workersRunning: number | null;
  removable: boolean;
  lockedBy: number[];
  note: string | null;
}

interface InspectDoc {
  name: string;
  size: number;
  version: number;
  supervisor: { pid: number; alive: boolean; state: string; epoch: number; heartbeat: number; heartbeatAgeMs: number };
  options: Record<string, unknown>;
  sparesReady: { normal: number; vip: number };
  workers: {
    group: string;
    index: number;
    pid: number;
    alive: boolean;
    state: string;
    processed: number;
    crashes: number;
    restarts: number;
    pending: number;
    queued: number;
    inFlight: { seqId: number; funcId: number; slot: number; forMs: number }[];
    requestQueue: number;
    responseQueue: number;
    queues: { slot: number; request: number; response: number }[];
  }[];
  slots: { index: number; role: string; state: string; pid: number; alive: boolean | null; generation: number }[];
}

interface CleanDoc {
  dryRun: boolean;
  removed: { name: string }[];
  kept: { name: string; status: string }[];
  failed: { name: string; error: string }[];
}

const listOf = async (prefix?: string) =>
  (await phoenixJson<{ segments: ListEntry[] }>(['list', ...(prefix === undefined ? [] : ['--prefix', prefix])]))
    .segments;

/** A live cluster (2 normal + 1 VIP worker) and a connected client holding its slot. */
async function liveServer(tag: string): Promise<{
  name: string;
  cluster: ScriptProcess;
  supervisorPid: number;
  workerPids: number[];
  client: ScriptProcess;
  clientPid: number;
  clientSlot: number;
}> {
  const name = harness.name(tag);
  const cluster = harness.cluster(name, { normalWorkers: 2, vipWorkers: 1 });
  const ready = await cluster.waitFor('ready');
  const client = harness.script(CLIENT_SCRIPT, [name, 'hold']);
  const connected = await client.waitFor('connected');
  return {
    name,
    cluster,
    supervisorPid: ready.pid as number,
    workerPids: (ready.stats as { pid: number }[]).map((worker) => worker.pid),
    client,
    clientPid: connected.pid as number,
    clientSlot: connected.connected as number,
  };
}

describe('phoenix list', () => {
  it('shows a live segment as alive with its supervisor pid, size, version and connected clients', async () => {
    const live = await liveServer('cli-list');
    const size = statSync(`/dev/shm${live.name}`).size;

    // The whole of /dev/shm (read-only: other segments there are not disturbed).
    const entry = (await listOf()).find((candidate) => candidate.name === live.name);
    expect(entry).toMatchObject({
      name: live.name,
      status: 'alive',
      pid: live.supervisorPid,
      size,
      version: 1,
      epoch: 1,
      clients: 1,
      workers: 3,
      workersRunning: 3,
      removable: false,
    });
    expect(entry!.lockedBy).toContain(live.supervisorPid);

    const table = await phoenix(['list', '--prefix', live.name]);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+STATUS\s+PID\s+SIZE\s+VERSION\s+EPOCH\s+CLIENTS\s+WORKERS\s+NOTE$/);
    expect(row!.split(/\s{2,}/).map((cell) => cell.trim())).toEqual([
      live.name,
      'alive',
      String(live.supervisorPid),
      expect.stringMatching(/MiB$/),
      '1',
      '1',
      '1',
      '3/3',
    ]);
  });
});

describe('phoenix inspect', () => {
  it('--json shows every worker running with its pid, the connection slots, queue depths and the configuration', async () => {
    const live = await liveServer('cli-inspect');
    const doc = await phoenixJson<InspectDoc>(['inspect', live.name]);
    expect(doc.name).toBe(live.name);
    expect(doc.version).toBe(1);
    expect(doc.size).toBe(statSync(`/dev/shm${live.name}`).size);
    expect(doc.supervisor).toMatchObject({ pid: live.supervisorPid, alive: true, state: 'running', epoch: 1 });
    expect(doc.supervisor.heartbeat).toBeGreaterThan(0);
    expect(doc.supervisor.heartbeatAgeMs).toBeGreaterThanOrEqual(0);
    expect(doc.options).toMatchObject({ normalWorkers: 2, vipWorkers: 1 });

    expect(doc.workers.map((worker) => `${worker.group}${worker.index}`)).toEqual(['normal0', 'normal1', 'vip0']);
    expect(doc.workers.map((worker) => worker.pid).sort()).toEqual([...live.workerPids].sort());
    for (const worker of doc.workers) {
      expect(worker).toMatchObject({ state: 'running', alive: true, crashes: 0, restarts: 0, inFlight: [] });
      // One queue entry per connected slot: the supervisor's slot 0 and the client's.
      expect(worker.queues.map((queue) => queue.slot)).toEqual([0, live.clientSlot]);
      for (const queue of worker.queues) {
        expect(queue.request).toBe(0);
        expect(queue.response).toBe(0);
      }
      expect(worker.requestQueue).toBe(0);
      expect(worker.responseQueue).toBe(0);
    }

    const inUse = doc.slots.filter((slot) => slot.state !== 'free');
    expect(inUse).toEqual([
      expect.objectContaining({ index: 0, role: 'supervisor', state: 'active', pid: live.supervisorPid, alive: true }),
      expect.objectContaining({ index: live.clientSlot, role: 'client', state: 'active', pid: live.clientPid }),
    ]);
    expect(inUse[1]!.alive).toBe(true);
    expect(doc.slots.length).toBeGreaterThan(2);

    const text = await phoenix(['inspect', live.name]);
    expect(text.code).toBe(0);
    for (const section of ['WORKERS', 'CONNECTION SLOTS', 'QUEUES', 'CONFIGURATION'])
      expect(text.stdout).toContain(section);
    for (const pid of live.workerPids) expect(text.stdout).toMatch(new RegExp(`\\b${pid}\\s+yes\\s+running\\b`));
  });

  it('shows how many warm spare workers are ready, per group', async () => {
    const live = await liveServer('cli-spares');
    const spares = async () => (await phoenixJson<InspectDoc>(['inspect', live.name])).sparesReady;
    // The cluster keeps the default: one spare per group with workers, booted after start().
    let last: InspectDoc['sparesReady'] | null = null;
    await waitUntil(
      async () => {
        last = await spares();
        return last.normal === 1 && last.vip === 1;
      },
      20_000,
      'one ready spare per group',
    );
    expect(last).toEqual({ normal: 1, vip: 1 });
    const text = await phoenix(['inspect', live.name]);
    expect(text.stdout).toMatch(/^spares\s+1 normal, 1 VIP ready/m);
  });

  it('shows the seq id a worker is running and a duration that grows', async () => {
    const live = await liveServer('cli-inflight');
    live.client.send(`call ${SLOW_ECHO} 4000`);
    type Busy = { seqId: number; funcId: number; slot: number; forMs: number };
    const busy = async (): Promise<{ worker: string; call: Busy } | null> => {
      const doc = await phoenixJson<InspectDoc>(['inspect', live.name]);
      for (const worker of doc.workers) {
        const call = worker.inFlight[0];
        if (call !== undefined) return { worker: `${worker.group}${worker.index}`, call };
      }
      return null;
    };
    let first: Awaited<ReturnType<typeof busy>> = null;
    const deadline = Date.now() + 3000;
    while (first === null && Date.now() < deadline) first = await busy();
    expect(first).not.toBeNull();
    expect(first!.call.seqId).toBeGreaterThan(0);
    expect(first!.call.funcId).toBe(SLOW_ECHO);
    expect(first!.call.slot).toBe(live.clientSlot);
    // Lets time pass on purpose: the behaviour under test is that forMs grows while the call runs.
    await sleep(200);
    const second = await busy();
    expect(second).not.toBeNull();
    expect(second!.worker).toBe(first!.worker);
    expect(second!.call.seqId).toBe(first!.call.seqId);
    expect(second!.call.forMs).toBeGreaterThan(first!.call.forMs);

    const text = await phoenix(['inspect', live.name]);
    expect(text.stdout).toMatch(new RegExp(`seq ${first!.call.seqId} for \\d`));
    expect((await live.client.waitFor('reply')).reply).toBe('4000');
  });

  it('--watch --json prints one document per line until SIGINT, then exits with code 0', async () => {
    const live = await liveServer('cli-watch');
    const child = spawn(process.execPath, [CLI, 'inspect', live.name, '--watch', '100', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      await waitUntil(() => stdout.split('\n').length > 2, 15_000, 'two documents from --watch');
      child.kill('SIGINT');
      expect(await exited).toEqual({ code: 0, signal: null });
      const lines = stdout.trimEnd().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(2);
      for (const text of lines) {
        const doc = JSON.parse(text) as InspectDoc;
        expect(doc.name).toBe(live.name);
        expect(doc.workers).toHaveLength(3);
      }
      expect(stderr).toBe('');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('phoenix clean', () => {
  it('removes a stale segment (SIGKILLed supervisor) but never a live one, a foreign file or one being created; --dry-run removes nothing', async () => {
    const prefix = harness.name('cli-clean').replace(/-\d+$/, '');
    const live = await liveServer('cli-clean-live');

    const staleName = harness.name('cli-clean-stale');
    const doomed = harness.cluster(staleName, { normalWorkers: 1, vipWorkers: 1 });
    await doomed.waitFor('ready');
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    await waitUntil(() => processesMentioning(staleName).length === 0, 5000, "the dead supervisor's workers to exit");

    const foreignName = harness.name('cli-clean-foreign');
    const foreignBytes = randomBytes(8192);
    writeFileSync(`/dev/shm${foreignName}`, foreignBytes);

    const creatingName = harness.name('cli-clean-creating');
    const creator = harness.script(CREATING_SCRIPT, [creatingName, 'empty']);
    await creator.waitFor('holding');

    const statuses = Object.fromEntries((await listOf(prefix)).map((entry) => [entry.name, entry.status]));
    expect(statuses).toEqual({
      [live.name]: 'alive',
      [staleName]: 'stale',
      [foreignName]: 'foreign',
      [creatingName]: 'creating',
    });
    const all = [live.name, staleName, foreignName, creatingName];

    const dry = await phoenixJson<CleanDoc>(['clean', '--prefix', prefix, '--dry-run']);
    expect(dry.dryRun).toBe(true);
    expect(dry.removed.map((entry) => entry.name)).toEqual([staleName]);
    for (const name of all) expect(existsSync(`/dev/shm${name}`)).toBe(true);
    const dryText = await phoenix(['clean', '--prefix', prefix, '--dry-run']);
    expect(dryText.code).toBe(0);
    expect(dryText.stdout).toContain(`would remove ${staleName}`);
    expect(dryText.stdout).toContain('nothing was removed');
    for (const name of all) expect(existsSync(`/dev/shm${name}`)).toBe(true);

    const run = await phoenix(['clean', '--prefix', prefix]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`removed ${staleName}`);
    expect(run.stdout).not.toContain(`removed ${live.name}`);
    expect(existsSync(`/dev/shm${staleName}`)).toBe(false);
    for (const name of [live.name, foreignName, creatingName]) expect(existsSync(`/dev/shm${name}`)).toBe(true);
    expect(readFileSync(`/dev/shm${foreignName}`).equals(foreignBytes)).toBe(true);

    // Nothing else to do, and the live server still serves.
    const again = await phoenixJson<CleanDoc>(['clean', '--prefix', prefix]);
    expect(again.removed).toEqual([]);
    expect(again.kept.map((entry) => entry.status).sort()).toEqual(['alive', 'creating', 'foreign']);
    live.client.send('call 1001 still-here');
    expect((await live.client.waitFor('reply')).reply).toBe('still-here');
  });

  it('named segments: removes one whose creator died while formatting it, keeps an unowned empty one, fails on a missing name', async () => {
    const abandoned = harness.name('cli-named-abandoned');
    const creator = harness.script(CREATING_SCRIPT, [abandoned, 'partial']);
    await creator.waitFor('holding');
    const [whileCreating] = await listOf(abandoned);
    expect(whileCreating).toMatchObject({ status: 'creating', version: 0, pid: creator.pid, removable: false });
    creator.child.kill('SIGKILL');
    await creator.exited;

    const empty = harness.name('cli-named-empty');
    const emptyCreator = harness.script(CREATING_SCRIPT, [empty, 'empty']);
    await emptyCreator.waitFor('holding');
    emptyCreator.child.kill('SIGKILL');
    await emptyCreator.exited;
    // Zero-filled, unowned and (pretend) old: nothing proves it is a PhoenixIPC segment.
    const old = new Date(Date.now() - 60_000);
    utimesSync(`/dev/shm${empty}`, old, old);

    const [afterDeath] = await listOf(abandoned);
    expect(afterDeath).toMatchObject({ status: 'stale', version: 0, removable: true });
    const [emptyEntry] = await listOf(empty);
    expect(emptyEntry).toMatchObject({ status: 'incomplete', removable: false });

    const missing = `${abandoned}-missing`;
    const run = await phoenix(['clean', abandoned, empty, missing, '--json']);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as CleanDoc;
    expect(doc.removed.map((entry) => entry.name)).toEqual([abandoned]);
    expect(doc.kept).toEqual([expect.objectContaining({ name: empty, status: 'incomplete' })]);
    expect(doc.failed).toEqual([{ name: missing, error: `no segment named ${missing}` }]);
    expect(run.stderr).toContain(`no segment named ${missing}`);
    expect(existsSync(`/dev/shm${abandoned}`)).toBe(false);
    expect(existsSync(`/dev/shm${empty}`)).toBe(true);
  });
});

describe('usage and errors', () => {
  it('inspect of a missing segment prints "no segment named" and exits 1', async () => {
    const name = harness.name('cli-missing');
    const run = await phoenix(['inspect', name]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no segment named ${name}`);
    expect(run.stdout).toBe('');
    const json = await phoenix(['inspect', name, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: `no segment named ${name}` });
  });

  it('inspect of a foreign file exits 1 and leaves it as it was', async () => {
    const name = harness.name('cli-foreign');
    const bytes = randomBytes(4096);
    writeFileSync(`/dev/shm${name}`, bytes);
    const run = await phoenix(['inspect', name]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${name} is not a PhoenixIPC segment`);
    expect(readFileSync(`/dev/shm${name}`).equals(bytes)).toBe(true);
  });

  it('inspect of a FIFO or a directory at the name exits 1 at once, naming what it is', async () => {
    const fifo = harness.name('cli-fifo');
    execFileSync('mkfifo', [`/dev/shm${fifo}`]);
    const directory = harness.name('cli-dir');
    mkdirSync(`/dev/shm${directory}`);
    try {
      for (const [name, kind] of [
        [fifo, 'FIFO'],
        [directory, 'directory'],
      ]) {
        const run = await phoenix(['inspect', name!], 10_000);
        expect(run.code).toBe(1);
        expect(run.stderr).toContain(`is a ${kind}, not a shared memory segment`);
      }
    } finally {
      rmSync(`/dev/shm${fifo}`, { force: true });
      rmSync(`/dev/shm${directory}`, { recursive: true, force: true });
    }
  });

  it('bad names, unknown commands and options, and missing arguments exit 2 with a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [['inspect', '/a/b'], /bad segment name "\/a\/b"/],
      [['inspect', '/'], /bad segment name/],
      [['inspect'], /inspect needs a segment name/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['list', '--frob'], /unknown option --frob for 'list'/],
      [['--frob'], /unknown option --frob/],
      [['inspect', '/x', '--watch', '1'], /--watch takes milliseconds/],
      [['clean', '/a/b'], /bad segment name/],
      [['list', 'extra'], /list takes no arguments/],
      [[], /Usage:/],
    ];
    for (const [args, message] of cases) {
      const run = await phoenix(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toMatch(message);
    }
  });

  it('with --json, a usage error (exit 2) prints {"error"} on stdout too', async () => {
    for (const args of [
      ['inspect', 'bad/name', '--json'],
      ['list', '--bogus', '--json'],
      ['inspect', '--json'],
    ]) {
      const run = await phoenix(args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(JSON.parse(run.stdout)).toEqual({ error: expect.any(String) });
    }
  });

  it('--help, <command> --help and --version; the built file runs as an executable too', async () => {
    const help = await phoenix(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['list', 'inspect', 'clean']) expect(help.stdout).toContain(`phoenix ${command}`);
    for (const command of ['list', 'inspect', 'clean']) {
      const run = await phoenix([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Usage: phoenix ${command}`));
      expect((await phoenix(['help', command])).stdout).toBe(run.stdout);
    }
    expect((await phoenix(['inspect', '--help'])).stdout).toMatch(/^ {2}spares +warm spare worker processes/m);
    const version = (
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
    const run = await phoenix(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: `phoenix ${version}\n` });

    const direct = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(CLI, ['--version'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout }));
    });
    expect(direct).toEqual({ code: 0, stdout: `phoenix ${version}\n` });
  });
});
