/**
 * Removing what harness/swarm.ts made: a run's processes (node dockerds, their containerds,
 * shims and containers), cgroups, network namespaces and folders, found by the run's names
 * (`hiysw-<id>`). Also sweeps the leftovers of runs whose owner process is gone (a test killed
 * by its timeout, a machine rebooted mid-run), and never touches a run whose owner still lives.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const PREFIX = 'hiysw-';
/** Per-run state under /run (sockets, exec roots, logs) and on disk (data roots). */
export const stateDir = (id: string) => `/run/${PREFIX}${id}`;
export const dataDir = (id: string) => `/var/lib/${PREFIX}${id}`;
const CGROUP_ROOT = '/sys/fs/cgroup';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `cmd args…`; throws with its stderr when it fails. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

/** The process's start time in clock ticks (field 22 of /proc/<pid>/stat): tells a pid apart from its reuse. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Pids whose command line contains `needle` (not this process). */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(needle)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** cgroup folders (every v1 controller, or the v2 tree) named `<PREFIX><id>…` at the top level. */
function cgroupDirs(namePrefix: string): string[] {
  const out: string[] = [];
  const roots = existsSync(join(CGROUP_ROOT, 'cgroup.procs')) ? [CGROUP_ROOT] : readdirSync(CGROUP_ROOT).map((c) => join(CGROUP_ROOT, c));
  for (const root of roots) {
    try {
      for (const n of readdirSync(root)) if (n.startsWith(namePrefix) && statSync(join(root, n)).isDirectory()) out.push(join(root, n));
    } catch {
      // not a folder (a v1 alias link) or unreadable
    }
  }
  return out;
}

/** Every pid in a cgroup folder and below. */
function cgroupPids(dir: string, out = new Set<number>()): Set<number> {
  try {
    for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line.trim()) out.add(Number(line));
    for (const n of readdirSync(dir)) if (statSync(join(dir, n)).isDirectory()) cgroupPids(join(dir, n), out);
  } catch {
    // removed meanwhile
  }
  return out;
}

function rmdirTree(dir: string): void {
  try {
    for (const n of readdirSync(dir)) if (statSync(join(dir, n)).isDirectory()) rmdirTree(join(dir, n));
    rmdirSync(dir);
  } catch {
    // busy for a moment after its last process died: the caller retries
  }
}

function killAll(pids: Iterable<number>): number {
  let n = 0;
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); n++; } catch { /* already gone */ }
  }
  return n;
}

/**
 * SIGKILLs every process of one node (or of a whole run, when `node` is empty): the dockerd and
 * containerd first (so nothing restarts a container), then the shims and the containers, which
 * live in the node's cgroup parent. Waits until they are gone (up to 15 s).
 */
export async function killProcesses(id: string, node = ''): Promise<void> {
  const needle = node ? `${stateDir(id)}/${node}` : `${stateDir(id)}/`;
  const cgroups = cgroupDirs(node ? `${PREFIX}${id}-${node}` : `${PREFIX}${id}-`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const daemons = pidsMentioning(needle);
    killAll(daemons);
    const inCgroups = new Set<number>();
    for (const dir of cgroups) cgroupPids(dir, inCgroups);
    killAll(inCgroups);
    if (daemons.length === 0 && inCgroups.size === 0) return;
    if (Date.now() > deadline) throw new Error(`processes of ${PREFIX}${id} ${node} still alive: ${[...daemons, ...inCgroups].join(' ')}`);
    await sleep(100);
  }
}

async function netnsNames(namePrefix: string): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']).catch(() => '');
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(namePrefix));
}

/** Everything of run `id`, by pid, cgroup, namespace and folder. Safe to call twice. */
export async function removeRun(id: string): Promise<void> {
  await killProcesses(id);
  for (let attempt = 0; attempt < 20; attempt++) {
    const left = cgroupDirs(`${PREFIX}${id}-`);
    if (left.length === 0) break;
    left.forEach(rmdirTree);
    await sleep(100);
  }
  // Deleting the bridge's namespace deletes the host's end of its veth with it.
  for (const ns of await netnsNames(`${PREFIX}${id}-`)) await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  await run('ip', ['link', 'delete', `${PREFIX}${id}-h`]).catch(() => undefined);
  rmSync(dataDir(id), { recursive: true, force: true });
  rmSync(stateDir(id), { recursive: true, force: true });
}

/** Whether the process that started run `id` still lives (its pid and start time, from the run's owner file). */
function ownerAlive(id: string): boolean {
  try {
    const [pid, start] = readFileSync(join(stateDir(id), 'owner'), 'utf8').trim().split(' ');
    return startTime(Number(pid)) === start;
  } catch {
    return false;
  }
}

/** Removes the leftovers of every run whose owner is gone; returns their ids. */
export async function sweepStaleRuns(): Promise<string[]> {
  const ids = new Set<string>();
  const idOf = (name: string) => /^hiysw-([0-9a-f]{4})(?:-|$)/.exec(name)?.[1];
  const names = [
    ...(existsSync('/run') ? readdirSync('/run') : []),
    ...(existsSync('/var/lib') ? readdirSync('/var/lib') : []),
    ...(await netnsNames(PREFIX)),
    ...cgroupDirs(PREFIX).map((d) => d.slice(d.lastIndexOf('/') + 1)),
  ];
  for (const n of names) {
    const id = idOf(n);
    if (id) ids.add(id);
  }
  const stale = [...ids].filter((id) => !ownerAlive(id));
  for (const id of stale) await removeRun(id);
  return stale;
}
