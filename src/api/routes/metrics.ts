import { Hono } from 'hono';
import { listAlerts } from '../../alerts/incidents.js';
import { appSeries, hostSeries, intervalOf, parseRange } from '../../metrics/series.js';
import type { Services } from '../../services.js';
import type { ApiEnv } from '../auth.js';
import { parseIntParam, pathApp, queryFlag } from '../body.js';

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** GET /apps/:name/metrics (mounted under /apps). */
export function appMetricsRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();
  r.get('/:name/metrics', async (c) => {
    const app = await pathApp(s.db, c);
    const range = parseRange(c.req.query('range'));
    const now = s.observability.metrics.apps.get(app.name);
    return c.json({
      app: app.name,
      range,
      interval_s: intervalOf(range, s.config.metricsIntervalSec),
      // CPU % counts one core as 100 (as docker stats does); the app may use up to cpus × 100.
      limits: { cpu_pct: round1(app.cpus * 100), memory_bytes: app.memory_mb * 1024 * 1024 },
      current: now ? { t: now.t, cpu_pct: round1(now.cpuPct), memory_bytes: now.memoryBytes, containers: now.containers } : null,
      series: await appSeries(s.db, app.name, range),
    });
  });
  return r;
}

/** GET /system and GET /alerts (mounted at the API root). */
export function systemRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/system', async (c) => {
    const range = parseRange(c.req.query('range'));
    const m = s.observability.metrics;
    const h = m.host;
    const open = await listAlerts(s.db, { openOnly: true, limit: 100 });
    return c.json({
      host: h ? {
        t: h.t,
        cpu_pct: round1(h.cpuPct),
        cpu_count: h.cpuCount,
        memory: { used: h.memoryUsed, total: h.memoryTotal, pct: round1(h.memoryPct) },
        disk: { path: s.config.dataDir, used: h.diskUsed, total: h.diskTotal, pct: round1(h.diskPct) },
      } : null,
      // Sampled every 5 minutes once apps run (the engine's /system/df is slow); null until then.
      docker: m.docker ? { images_bytes: m.docker.images, containers_bytes: m.docker.containers, volumes_bytes: m.docker.volumes, build_cache_bytes: m.docker.buildCache, sampled_at: m.docker.sampledAt } : null,
      apps: [...m.apps].map(([name, a]) => ({ name, cpu_pct: round1(a.cpuPct), memory_bytes: a.memoryBytes, containers: a.containers })),
      addons: [...m.addons].map(([name, a]) => ({ name, cpu_pct: round1(a.cpuPct), memory_bytes: a.memoryBytes })),
      capturing_logs: s.observability.capturing,
      open_alerts: open.length,
      range,
      interval_s: intervalOf(range, s.config.metricsIntervalSec),
      series: await hostSeries(s.db, range),
    });
  });

  r.get('/alerts', async (c) => {
    const raw = c.req.query('limit');
    const limit = raw === undefined ? 100 : parseIntParam('limit', raw, 1, 500);
    const alerts = await listAlerts(s.db, { openOnly: queryFlag(c, 'open') === true, limit });
    return c.json({
      alerts: alerts.map((a) => ({
        id: a.id, kind: a.kind, app: a.app, message: a.message, open: a.resolved_at === null,
        started_at: a.started_at, resolved_at: a.resolved_at, resolved_message: a.resolved_message,
        notified_at: a.notified_at, resolved_notified_at: a.resolved_notified_at, notify_error: a.notify_error,
      })),
      webhook: s.config.alerts.webhook ? s.config.alerts.format : null,
    });
  });

  return r;
}
