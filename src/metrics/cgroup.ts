import { access, readFile } from 'node:fs/promises';

/** A container's cumulative CPU time and its memory in use, read from its cgroup. */
export interface CgroupReading {
  cpuNs: number;
  memoryBytes: number;
}

interface Paths {
  cpu: string;
  cpuFormat: 'v1' | 'v2';
  memory: string;
  memoryStat: string;
}

/**
 * Where a container's cgroup lives depends on the cgroup version and the engine's driver:
 * v1 + cgroupfs (Debian's docker.io here): <root>/cpuacct/docker/<id>, <root>/memory/docker/<id>
 * (the cpu controller is mounted as cpu,cpuacct on many systems); v1 + systemd:
 * .../system.slice/docker-<id>.scope; v2 (Raspberry Pi OS bookworm): <root>/system.slice/docker-<id>.scope
 * or <root>/docker/<id> with cpu.stat and memory.current.
 */
export function candidatePaths(root: string, id: string): Paths[] {
  const v1 = (cpuDir: string, memDir: string): Paths => ({
    cpu: `${cpuDir}/cpuacct.usage`, cpuFormat: 'v1', memory: `${memDir}/memory.usage_in_bytes`, memoryStat: `${memDir}/memory.stat`,
  });
  const v2 = (dir: string): Paths => ({ cpu: `${dir}/cpu.stat`, cpuFormat: 'v2', memory: `${dir}/memory.current`, memoryStat: `${dir}/memory.stat` });
  const out: Paths[] = [];
  for (const ctl of ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu']) {
    out.push(v1(`${root}/${ctl}/docker/${id}`, `${root}/memory/docker/${id}`));
    out.push(v1(`${root}/${ctl}/system.slice/docker-${id}.scope`, `${root}/memory/system.slice/docker-${id}.scope`));
  }
  out.push(v2(`${root}/system.slice/docker-${id}.scope`), v2(`${root}/docker/${id}`));
  return out;
}

/** usage_usec from a v2 cpu.stat, as nanoseconds. */
export function parseCpuStat(text: string): number | undefined {
  const m = /^usage_usec (\d+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : undefined;
}

/** What `docker stats` shows: usage minus inactive page cache (v1 total_inactive_file, v2 inactive_file). */
export function workingSet(usage: number, memoryStat: string): number {
  const m = /^(?:total_inactive_file|inactive_file) (\d+)$/m.exec(memoryStat);
  const inactive = m ? Number(m[1]) : 0;
  return Math.max(0, usage - (inactive < usage ? inactive : 0));
}

/** Reads containers' cgroup files: a few small reads per container, no process spawned. */
export class CgroupReader {
  private readonly paths = new Map<string, Paths | null>();

  constructor(private readonly root = '/sys/fs/cgroup') {}

  async read(id: string): Promise<CgroupReading | undefined> {
    const p = await this.locate(id);
    if (!p) return undefined;
    try {
      const [cpuText, memText, statText] = await Promise.all([readFile(p.cpu, 'utf8'), readFile(p.memory, 'utf8'), readFile(p.memoryStat, 'utf8').catch(() => '')]);
      const cpuNs = p.cpuFormat === 'v1' ? Number(cpuText.trim()) : parseCpuStat(cpuText);
      const usage = Number(memText.trim());
      if (cpuNs === undefined || !Number.isFinite(cpuNs) || !Number.isFinite(usage)) return undefined;
      return { cpuNs, memoryBytes: workingSet(usage, statText) };
    } catch {
      // The container stopped between listing and reading: its cgroup is gone.
      this.paths.delete(id);
      return undefined;
    }
  }

  /** Drops cached paths of containers not in `alive`. */
  retain(alive: Set<string>): void {
    for (const id of this.paths.keys()) if (!alive.has(id)) this.paths.delete(id);
  }

  private async locate(id: string): Promise<Paths | undefined> {
    if (!/^[0-9a-f]{12,64}$/.test(id)) return undefined;
    const known = this.paths.get(id);
    if (known !== undefined) return known ?? undefined;
    for (const p of candidatePaths(this.root, id)) {
      const ok = await Promise.all([access(p.cpu), access(p.memory)]).then(() => true, () => false);
      if (ok) {
        this.paths.set(id, p);
        return p;
      }
    }
    return undefined;
  }
}
