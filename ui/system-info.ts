import { readFile } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import { listAlerts } from '../src/alerts/incidents.js';
import type { Database } from '../src/db/database.js';
import { diskUse, readMemory } from '../src/metrics/host.js';
import type { DockerDiskSample, HostSample } from '../src/metrics/sampler.js';
import { appSeries, hostSeries } from '../src/metrics/series.js';
import type { EngineDiskUsage, Runtime } from '../src/runtime/runtime.js';
import { downsample } from './format.js';
import type { AlertView, HostMetrics, MetricsSource, Series } from './sources.js';

/** What the dashboard reads of the metrics sampler (src/metrics): its latest samples. */
export interface SamplerView {
  readonly host: HostSample | undefined;
  readonly docker: DockerDiskSample | undefined;
}

const HOUR = 3600;

export const engineBytes = (u: EngineDiskUsage): number => u.images + u.containers + u.volumes + u.buildCache;

/**
 * The dashboard's view of the metrics module: series from its bounded tables, the host from the
 * sampler's latest sample (read from /proc directly in the seconds before the first one), alerts
 * from the incidents table. Uptime and load average are not sampled; they come from /proc.
 */
export class ObservedMetrics implements MetricsSource {
  private docker: { at: number; bytes: number | null } | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dataDir: string,
    private readonly sampler: SamplerView | undefined,
    private readonly runtime: () => Promise<Runtime>,
  ) {}

  async appSeries(apps: string[], seconds: number): Promise<Map<string, Series>> {
    const range = seconds <= HOUR ? '1h' : '24h';
    const all = await Promise.all(apps.map(async (app) => [app, await appSeries(this.db, app, range)] as const));
    const out = new Map<string, Series>();
    for (const [app, s] of all) if (s.t.length > 0) out.set(app, { t: s.t, cpuPct: s.cpu_pct, memoryBytes: s.memory_bytes });
    return out;
  }

  /**
   * The last hour of every app for the apps page's small lines, in two indexed reads: the
   * sampler's one-minute points, then the raw points of the minutes not folded yet. Raw points
   * alone are 360 per app per hour (~5,400 rows for 15 apps); this reads about 65 per app.
   */
  async appSparklines(apps: string[], points: number): Promise<Map<string, Series>> {
    const out = new Map<string, Series>();
    if (apps.length === 0) return out;
    const since = Math.floor(Date.now() / 1000) - HOUR;
    const rolled = await this.db.selectFrom('app_metrics').select((eb) => eb.fn.max('t').as('m')).where('res', '=', 60).executeTakeFirst();
    const rawSince = rolled?.m == null ? since : Math.max(since, Number(rolled.m) + 60);
    const rows = await this.db.selectFrom('app_metrics').select(['app', 't', 'cpu_pct', 'memory_bytes'])
      .where('app', 'in', apps)
      .where((eb) => eb.or([
        eb.and([eb('res', '=', 60), eb('t', '>=', since), eb('t', '<', rawSince)]),
        eb.and([eb('res', '=', 0), eb('t', '>=', rawSince)]),
      ]))
      .orderBy('app').orderBy('t').execute();
    for (const r of rows) {
      const s = out.get(r.app) ?? { t: [], cpuPct: [], memoryBytes: [] };
      s.t.push(r.t);
      s.cpuPct.push(r.cpu_pct);
      s.memoryBytes.push(r.memory_bytes);
      out.set(r.app, s);
    }
    for (const [app, s] of out) out.set(app, { t: downsample(s.t, points), cpuPct: downsample(s.cpuPct, points), memoryBytes: downsample(s.memoryBytes, points) });
    return out;
  }

  async host(): Promise<HostMetrics> {
    const [now, uptime, load, series] = await Promise.all([this.hostNow(), readUptime(), readLoad(), hostSeries(this.db, '1h')]);
    return {
      ...now,
      uptimeSec: uptime,
      ...(load ? { load } : {}),
      ...(series.t.length > 0 ? { series: { t: series.t, cpuPct: series.cpu_pct, memoryPct: series.memory_pct } } : {}),
    };
  }

  async alerts(limit: number): Promise<AlertView[]> {
    const rows = await listAlerts(this.db, { limit });
    const open = rows.filter((r) => r.resolved_at === null);
    return [...open, ...rows.filter((r) => r.resolved_at !== null)]
      .map((r) => ({ kind: r.kind, app: r.app, message: r.message, startedAt: r.started_at, resolvedAt: r.resolved_at }));
  }

  /** Bytes of Docker's images, containers, volumes and build cache: the sampler's figure, else asked (slow; kept a minute). */
  async dockerBytes(): Promise<number | null> {
    if (this.sampler?.docker) return engineBytes(this.sampler.docker);
    if (this.docker && Date.now() - this.docker.at < 60_000) return this.docker.bytes;
    let bytes: number | null = null;
    try {
      bytes = engineBytes(await (await this.runtime()).diskUsage());
    } catch {
      bytes = null;
    }
    this.docker = { at: Date.now(), bytes };
    return bytes;
  }

  private async hostNow(): Promise<Pick<HostMetrics, 'cpuPct' | 'memoryUsed' | 'memoryTotal' | 'diskUsed' | 'diskTotal'>> {
    const s = this.sampler?.host;
    // The sampler's first sample has no CPU figure yet (it needs two readings).
    if (s) return { cpuPct: s.cpuPct, memoryUsed: s.memoryUsed, memoryTotal: s.memoryTotal, diskUsed: s.diskUsed, diskTotal: s.diskTotal };
    const [mem, disk] = await Promise.all([readMemory().catch(() => undefined), diskUse(this.dataDir).catch(() => ({ used: 0, total: 0 }))]);
    return { cpuPct: null, memoryUsed: mem?.used ?? 0, memoryTotal: mem?.total ?? 0, diskUsed: disk.used, diskTotal: disk.total };
  }
}

async function readUptime(): Promise<number> {
  return readFile('/proc/uptime', 'utf8').then((t) => Number(t.split(' ')[0]) || 0).catch(() => 0);
}

async function readLoad(): Promise<[number, number, number] | undefined> {
  return readFile('/proc/loadavg', 'utf8').then((t) => t.split(' ').slice(0, 3).map(Number) as [number, number, number]).catch(() => undefined);
}
