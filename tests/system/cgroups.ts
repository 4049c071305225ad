/**
 * The cgroups one guest lives in: a child named after the guest below the test process's own
 * cgroup, in every hierarchy this host has (it mixes cgroup v1 controllers and v2, and nspawn
 * mounts the v1 controllers read-only inside; the guest's boot remounts them writable so
 * Docker's limits work). Teardown kills whatever is left in them and removes them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The directory of every hierarchy the current process is in, with `name` appended. */
export function guestCgroups(name: string): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line);
    if (!m) continue;
    const [, controllers, path] = m as unknown as [string, string, string];
    let base: string;
    if (controllers === '') base = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';
    else base = join('/sys/fs/cgroup', controllers.replace(/^name=/, ''));
    // Only real cgroup mounts: never make directories in the tmpfs that holds them.
    if (!existsSync(join(base, 'cgroup.procs'))) continue;
    dirs.push(join(base, path, name));
  }
  return dirs;
}

export function makeCgroups(dirs: string[]): void {
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    // A new v1 cpuset has no CPUs and no memory nodes: nothing could join it until they are set.
    const cpus = join(dir, 'cpuset.cpus');
    if (existsSync(cpus) && readFileSync(cpus, 'utf8').trim() === '') {
      writeFileSync(cpus, readFileSync(join(dir, '..', 'cpuset.cpus')));
      writeFileSync(join(dir, 'cpuset.mems'), readFileSync(join(dir, '..', 'cpuset.mems')));
    }
  }
}

function subtree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...subtree(join(dir, e.name)));
  out.push(dir); // children first: rmdir needs them gone
  return out;
}

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** SIGKILLs every process still in the guest's cgroups, then removes them (deepest first). */
export async function removeCgroups(dirs: string[]): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = dirs.flatMap((d) => subtree(d).flatMap(pidsIn));
    if (pids.length === 0) break;
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await sleep(100);
  }
  for (const dir of dirs) {
    for (const d of subtree(dir)) {
      for (let i = 0; i < 20; i++) {
        try { rmdirSync(d); break; } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
          await sleep(100); // EBUSY while the last processes exit
        }
      }
    }
  }
}
