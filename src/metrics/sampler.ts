import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { EngineDiskUsage, Runtime } from '../runtime/runtime.js';
import { CgroupReader } from './cgroup.js';
import { cpuPercent, diskUse, percent, readCpuTimes, readMemory, type CpuTimes } from './host.js';

export interface HostSample {
  t: number;
  cpuPct: number;
  cpuCount: number;
  memoryUsed: number;
  memoryTotal: number;
  memoryPct: number;
  diskUsed: number;
  diskTotal: number;
  diskPct: number;
}

export interface AppSample {
  t: number;
  cpuPct: number;
  memoryBytes: number;
  containers: number;
}

export interface DockerDiskSample extends EngineDiskUsage {
  sampledAt: string;
}

/** What the sampler needs to know about containers: capture's view, no engine call per sample. */
export interface SampledContainer {
  id: string;
  app: string;
}

export interface MetricsSamplerDeps {
  db: Kysely<Database>;
  log: Logger;
  dataDir: string;
  intervalSec: number;
  /** Running app containers (empty until log capture runs). */
  containers(): SampledContainer[];
  /** Running add-on containers (as the last add-on check found them). */
  addonContainers?(): { id: string; addon: string }[];
  /** The engine, once loaded; the slow /system/df is only asked when there is one. */
  runtime(): Runtime | undefined;
  onHostSample?(s: HostSample): void;
  /** On a Swarm: each app's figures over its tasks on every node (cluster-usage.ts), added to what this host's cgroups give. */
  clusterApps?(t: number): Map<string, AppSample> | undefined;
  cgroupRoot?: string;
  procRoot?: string;
}

export const HOUR = 3600;
export const DAY = 86_400;
const DOCKER_DF_EVERY_MS = 5 * 60_000;

/**
 * Samples host and per-app CPU and memory every intervalSec from /proc and the containers' cgroup
 * files (no `docker stats`: that takes ~1 s and a request per container), writes raw points
 * (kept an hour) and folds each finished minute into one-minute points (kept a day).
 */
export class MetricsSampler {
  private timer: NodeJS.Timeout | undefined;
  private prevHost: CpuTimes | undefined;
  private readonly prevCpu = new Map<string, { ns: number; at: bigint }>();
  private readonly cgroups: CgroupReader;
  private lastRolledMinute: number | undefined;
  private lastDf = 0;
  private running: Promise<void> = Promise.resolve();
  host: HostSample | undefined;
  readonly apps = new Map<string, AppSample>();
  /** The same figures per add-on (its one container). */
  readonly addons = new Map<string, AppSample>();
  docker: DockerDiskSample | undefined;

  constructor(private readonly d: MetricsSamplerDeps) {
    this.cgroups = new CgroupReader(d.cgroupRoot);
  }

  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.d.intervalSec * 1000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sample; overlapping ticks (a slow disk) are skipped, not queued. */
  private tick(): Promise<void> {
    this.running = this.running.then(() => this.sample()).catch((err: unknown) => this.d.log.warn({ err }, 'metrics sample failed'));
    return this.running;
  }

  async sample(): Promise<void> {
    const t = Math.floor(Date.now() / 1000);
    const host = await this.sampleHost(t);
    const addonContainers = this.d.addonContainers?.() ?? [];
    const all = await this.sampleContainers(t, [...this.d.containers(), ...addonContainers.map((c) => ({ id: c.id, app: `addon:${c.addon}` }))]);
    const apps = new Map([...all].filter(([k]) => !k.startsWith('addon:')));
    for (const [app, s] of this.d.clusterApps?.(t) ?? []) {
      const here = apps.get(app);
      apps.set(app, here ? { t, cpuPct: here.cpuPct + s.cpuPct, memoryBytes: here.memoryBytes + s.memoryBytes, containers: here.containers + s.containers } : s);
    }
    const addons = new Map([...all].filter(([k]) => k.startsWith('addon:')).map(([k, v]) => [k.slice(6), v]));
    await this.d.db.transaction().execute(async (trx) => {
      if (host) {
        await trx.insertInto('host_metrics').values({ res: 0, t, cpu_pct: host.cpuPct, memory_used: host.memoryUsed, memory_total: host.memoryTotal, disk_used: host.diskUsed, disk_total: host.diskTotal }).execute();
      }
      const known = new Set((await trx.selectFrom('apps').select('name').execute()).map((r) => r.name));
      const rows = [...apps].filter(([app]) => known.has(app)).map(([app, s]) => ({ app, res: 0, t, cpu_pct: s.cpuPct, memory_bytes: s.memoryBytes }));
      if (rows.length) await trx.insertInto('app_metrics').values(rows).execute();
      if (addons.size) {
        const names = new Set((await trx.selectFrom('addons').select('name').execute()).map((r) => r.name));
        const arows = [...addons].filter(([a]) => names.has(a)).map(([addon, s]) => ({ addon, res: 0, t, cpu_pct: s.cpuPct, memory_bytes: s.memoryBytes }));
        if (arows.length) await trx.insertInto('addon_metrics').values(arows).execute();
      }
    });
    if (host) {
      this.host = host;
      this.d.onHostSample?.(host);
    }
    this.apps.clear();
    for (const [app, s] of apps) this.apps.set(app, s);
    this.addons.clear();
    for (const [addon, s] of addons) this.addons.set(addon, s);
    await this.rollUp(t);
    this.maybeSampleDocker();
  }

  private async sampleHost(t: number): Promise<HostSample | undefined> {
    try {
      const [times, mem, disk] = await Promise.all([readCpuTimes(this.d.procRoot), readMemory(this.d.procRoot), diskUse(this.d.dataDir)]);
      if (!times || !mem) return undefined;
      const cpuPct = this.prevHost ? cpuPercent(this.prevHost, times) : 0;
      this.prevHost = times;
      return {
        t, cpuPct, cpuCount: times.cores,
        memoryUsed: mem.used, memoryTotal: mem.total, memoryPct: percent(mem.used, mem.total),
        diskUsed: disk.used, diskTotal: disk.total, diskPct: percent(disk.used, disk.total),
      };
    } catch (err) {
      this.d.log.warn({ err }, 'reading host figures failed');
      return undefined;
    }
  }

  /** CPU % of one core (100 = one core busy, as `docker stats` counts), summed over each owner's containers. */
  private async sampleContainers(t: number, containers: SampledContainer[]): Promise<Map<string, AppSample>> {
    const out = new Map<string, AppSample>();
    const alive = new Set(containers.map((c) => c.id));
    for (const id of this.prevCpu.keys()) if (!alive.has(id)) this.prevCpu.delete(id);
    this.cgroups.retain(alive);
    const readings = await Promise.all(containers.map(async (c) => ({ c, r: await this.cgroups.read(c.id), at: process.hrtime.bigint() })));
    for (const { c, r, at } of readings) {
      if (!r) continue;
      const prev = this.prevCpu.get(c.id);
      this.prevCpu.set(c.id, { ns: r.cpuNs, at });
      const wall = prev ? Number(at - prev.at) : 0;
      const cpu = prev && wall > 0 ? Math.max(0, (100 * (r.cpuNs - prev.ns)) / wall) : 0;
      const s = out.get(c.app) ?? { t, cpuPct: 0, memoryBytes: 0, containers: 0 };
      s.cpuPct += cpu;
      s.memoryBytes += r.memoryBytes;
      s.containers++;
      out.set(c.app, s);
    }
    return out;
  }

  /** Folds finished minutes of raw points into one-minute averages, then drops what is past its range. */
  private async rollUp(t: number): Promise<void> {
    const minute = Math.floor(t / 60) * 60;
    if (this.lastRolledMinute === undefined) {
      const last = await this.d.db.selectFrom('host_metrics').select((eb) => eb.fn.max('t').as('m')).where('res', '=', 60).executeTakeFirst();
      this.lastRolledMinute = last?.m != null ? Number(last.m) + 60 : minute;
    }
    if (minute <= this.lastRolledMinute) return;
    const from = Math.max(this.lastRolledMinute, minute - DAY);
    await this.d.db.transaction().execute(async (trx) => {
      await sql`insert into app_metrics (app, res, t, cpu_pct, memory_bytes)
        select app, 60, (t / 60) * 60, avg(cpu_pct), cast(avg(memory_bytes) as integer) from app_metrics
        where res = 0 and t >= ${from} and t < ${minute} group by app, t / 60`.execute(trx);
      await sql`insert into addon_metrics (addon, res, t, cpu_pct, memory_bytes)
        select addon, 60, (t / 60) * 60, avg(cpu_pct), cast(avg(memory_bytes) as integer) from addon_metrics
        where res = 0 and t >= ${from} and t < ${minute} group by addon, t / 60`.execute(trx);
      await sql`insert into host_metrics (res, t, cpu_pct, memory_used, memory_total, disk_used, disk_total)
        select 60, (t / 60) * 60, avg(cpu_pct), cast(avg(memory_used) as integer), max(memory_total), cast(avg(disk_used) as integer), max(disk_total)
        from host_metrics where res = 0 and t >= ${from} and t < ${minute} group by t / 60`.execute(trx);
      await trx.deleteFrom('app_metrics').where('res', '=', 0).where('t', '<', t - HOUR).execute();
      await trx.deleteFrom('addon_metrics').where('res', '=', 0).where('t', '<', t - HOUR).execute();
      await trx.deleteFrom('addon_metrics').where('res', '=', 60).where('t', '<', t - DAY).execute();
      await trx.deleteFrom('host_metrics').where('res', '=', 0).where('t', '<', t - HOUR).execute();
      await trx.deleteFrom('app_metrics').where('res', '=', 60).where('t', '<', t - DAY).execute();
      await trx.deleteFrom('host_metrics').where('res', '=', 60).where('t', '<', t - DAY).execute();
    });
    this.lastRolledMinute = minute;
  }

  /** /system/df walks every layer: seconds of engine work, so every 5 minutes and in the background. */
  private maybeSampleDocker(): void {
    const rt = this.d.runtime();
    if (!rt || Date.now() - this.lastDf < DOCKER_DF_EVERY_MS) return;
    this.lastDf = Date.now();
    rt.diskUsage().then(
      (u) => { this.docker = { ...u, sampledAt: new Date().toISOString() }; },
      (err: unknown) => this.d.log.warn({ err }, 'reading Docker disk usage failed'),
    );
  }
}
