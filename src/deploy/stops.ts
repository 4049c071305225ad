/**
 * `hiy ps:stop` / `ps:start` (Dokku's ps:stop/ps:start, Heroku's ps:stop): a process type of the
 * current release runs no container until it is started again. The stop is a row in the database
 * (formation.stopped), so it outlives restarts of hiy and start-up reconciliation; its quantity
 * is kept for ps:start. A stopped web keeps its route: Caddy answers a "stopped" page (a notice
 * file, proxy/notices.ts) instead of a 502. A deploy, restart or rollback starts a stopped app
 * again (it is a request to run a release; pipeline.ts says so in the deploy log); changes that
 * restart to apply (env, volume, add-ons) are saved and apply at ps:start.
 */
import type { Kysely } from 'kysely';
import { routeFor } from '../apps/route.js';
import { getApp, type App } from '../apps/repo.js';
import { workerTypes, type Processes } from '../build/procfile.js';
import type { Database } from '../db/database.js';
import { nowIso } from '../db/database.js';
import { HiyError } from '../errors.js';
import { drainAndStop } from './drain.js';
import { formationOf, parseProcesses, runningFormation, stoppedTypes } from './formation.js';
import { currentPlan } from './plan.js';
import { currentRelease, type Release } from './releases.js';
import { applyFormation, type ScaleDeps } from './scale.js';

export interface StopResult {
  app: string;
  /** Process types stopped (or started) by this call. */
  types: string[];
  /** Every stopped type after it. */
  stopped: string[];
}

async function target(db: Kysely<Database>, appName: string, type: string | undefined): Promise<{ app: App; release: Release; types: string[]; processes: Processes }> {
  const app = await getApp(db, appName);
  const release = await currentRelease(db, app.name);
  if (!release) throw new HiyError('conflict', `"${app.name}" has no release yet: nothing runs to stop or start`);
  const processes = parseProcesses(release.processes);
  const known = ['web', ...workerTypes(processes)];
  if (type !== undefined && !known.includes(type)) {
    throw new HiyError('invalid_input', `the current release of ${app.name} has no process type "${type.slice(0, 30)}" (it has: ${known.join(', ')})`);
  }
  return { app, release, types: type === undefined ? known : [type], processes };
}

async function mark(db: Kysely<Database>, app: string, formation: Record<string, number>, types: string[], stopped: 0 | 1): Promise<void> {
  const now = nowIso();
  for (const process of types) {
    await db.insertInto('formation').values({ app, process, quantity: formation[process] ?? 1, stopped, updated_at: now })
      .onConflict((oc) => oc.columns(['app', 'process']).doUpdateSet({ stopped, updated_at: now })).execute();
  }
}

/** Stops `type` (every type when undefined): web gets its page first, then drains like an old release. */
export async function stopProcesses(d: ScaleDeps, appName: string, type?: string): Promise<StopResult> {
  const { app, release, types, processes } = await target(d.db, appName, type);
  await mark(d.db, app.name, await formationOf(d.db, app.name, processes), types, 1);
  // New requests get the page from now on; the ones in flight finish (drainAndStop).
  if (types.includes('web')) await d.proxy.setRoute(await routeFor(d.db, app));
  const containers = (await d.runtime.list({ app: app.name })).filter((c) => c.run === null && types.includes(c.process));
  await drainAndStop(d, app, containers);
  d.log.info({ app: app.name, types, release: release.version }, 'processes stopped');
  return { app: app.name, types, stopped: [...await stoppedTypes(d.db, app.name)].sort() };
}

/** Starts stopped types again from the current release (web: healthy before Caddy sends it anything). */
export async function startProcesses(d: ScaleDeps, appName: string, type?: string): Promise<StopResult> {
  const { app, release, types, processes } = await target(d.db, appName, type);
  const before = await stoppedTypes(d.db, app.name);
  const starting = types.filter((t) => before.has(t));
  if (starting.length > 0) {
    await mark(d.db, app.name, {}, starting, 0);
    const plan = await currentPlan(d, app, release);
    const wanted = Object.fromEntries(starting.map((t) => [t, plan.formation[t] ?? 1]));
    try {
      await applyFormation(d, { ...plan, formation: await runningFormation(d.db, app.name, processes) }, release, wanted);
    } catch (err) {
      // Not running: it is still stopped (and says so), rather than half started.
      await mark(d.db, app.name, plan.formation, starting, 1);
      throw err;
    }
    if (starting.includes('web')) await d.proxy.setRoute(await routeFor(d.db, app));
    d.log.info({ app: app.name, types: starting, release: release.version }, 'processes started');
  }
  return { app: app.name, types: starting, stopped: [...await stoppedTypes(d.db, app.name)].sort() };
}
