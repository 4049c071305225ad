import { getApp, listApps, type App } from '../src/apps/repo.js';
import { validateAppName } from '../src/apps/names.js';
import { appUrl } from '../src/apps/urls.js';
import { lastDeploy } from '../src/deploy/repo.js';
import { stoppedTypes } from '../src/deploy/formation.js';
import type { AppRowView } from './pages/apps.js';
import { appStatus, type StatusView } from '../src/apps/status.js';
import type { Series } from './sources.js';
import type { Ui } from './ui.js';

/** Points per sparkline on the apps page (one per 90 s of the last hour). */
const SPARK_POINTS = 40;

/**
 * Every app's row for the apps page, in a fixed number of queries whatever the app count: apps,
 * current releases, last deploys, one container listing (cached), one metrics read.
 */
export async function appRows(ui: Ui): Promise<AppRowView[]> {
  const db = ui.s.db;
  const apps = await listApps(db);
  const [releases, deploys, containers, stops] = await Promise.all([
    db.selectFrom('releases').innerJoin('apps', 'apps.current_release_id', 'releases.id')
      .select(['releases.app', 'releases.version', 'releases.sha']).execute(),
    db.selectFrom('deploys').select(['id', 'app', 'status', 'created_at'])
      .where('id', 'in', db.selectFrom('deploys').select((eb) => eb.fn.max('id').as('id')).groupBy('app')).execute(),
    ui.containers.byAppOf(apps),
    db.selectFrom('formation').select(['app', 'process']).where('stopped', '=', 1).execute(),
  ]);
  const series = await ui.metrics.appSparklines(apps.map((a) => a.name), SPARK_POINTS).catch(() => new Map<string, Series>());
  const releaseOf = new Map(releases.map((r) => [r.app, r]));
  const deployOf = new Map(deploys.map((d) => [d.app, d]));
  return apps.map((a) => {
    const release = releaseOf.get(a.name);
    const last = deployOf.get(a.name);
    const s = series.get(a.name);
    return {
      name: a.name,
      status: appStatus({ hasRelease: release !== undefined, lastDeploy: last, containers: containers === undefined ? undefined : containers.get(a.name) ?? [], stopped: new Set(stops.filter((x) => x.app === a.name).map((x) => x.process)) }),
      maintenance: a.maintenance === 1,
      release: release ? { version: release.version, sha: release.sha } : null,
      domain: `${a.name}.${ui.s.config.domain}`,
      url: appUrl(ui.s.config, a.name),
      lastDeploy: last ? { id: last.id, status: last.status, created_at: last.created_at } : null,
      cpu: s?.cpuPct ?? [],
      memory: s?.memoryBytes ?? [],
    };
  });
}

/** Seconds between refreshes of the apps rows: quick while something builds, slow otherwise. */
export function refreshInterval(rows: AppRowView[]): number {
  return rows.some((r) => r.status.status === 'building') ? 2 : 10;
}

/** The app named in the path (404 page when there is none). */
export async function appFromPath(ui: Ui, raw: string): Promise<App> {
  return getApp(ui.s.db, validateAppName(raw));
}

export async function statusOfApp(ui: Ui, app: App): Promise<StatusView> {
  const [last, containers, stopped] = await Promise.all([lastDeploy(ui.s.db, app.name), ui.containers.byAppOf([app]), stoppedTypes(ui.s.db, app.name)]);
  return appStatus({ hasRelease: app.current_release_id !== null, lastDeploy: last, containers: containers === undefined ? undefined : containers.get(app.name) ?? [], stopped });
}

/** Header data every app page shows. */
export function appHead(ui: Ui, app: App): { name: string; url: string; domain: string } {
  return { name: app.name, url: appUrl(ui.s.config, app.name), domain: `${app.name}.${ui.s.config.domain}` };
}
