import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { managedVars, fingerprintOf } from '../addons/managed.js';
import { reconcileAddons } from '../addons/reconcile.js';
import { listApps, type App } from '../apps/repo.js';
import { routeFor } from '../apps/route.js';
import { workerTypes } from '../build/procfile.js';
import type { ContainerInfo, Runtime } from '../runtime/runtime.js';
import type { Services } from '../services.js';
import { replicaPort } from '../slots.js';
import { formationOf, parseProcesses, runningFormation, stoppedTypes } from './formation.js';
import { currentPlan, type ReleasePlan } from './plan.js';
import { startWebReplica, startWorkers } from './processes.js';
import { byReplica } from './scale.js';
import { failInterrupted } from './records.js';
import { currentRelease, type Release } from './releases.js';

/**
 * At every start (a crash included) the database is the truth. First, before the API answers:
 * deploys that were in flight are settled and their leftover source archives go.
 */
export async function settleInterruptedDeploys(s: Pick<Services, 'db' | 'log' | 'config'>): Promise<number> {
  const n = await failInterrupted(s.db);
  if (n > 0) s.log.warn({ count: n }, 'marked interrupted deploys as failed');
  await rm(join(s.config.dataDir, 'sources'), { recursive: true, force: true });
  return n;
}

/**
 * Then, with the API up: Caddy's routes are rebuilt from the apps table, each app's live marker
 * points at its current release (a crash between recording a release and moving the marker
 * left it on the old one), containers no current release owns are removed, and each current
 * release is running.
 */
export async function recoverAtStart(s: Services, interruptedDeploys = 1): Promise<void> {
  const apps = await listApps(s.db);
  await s.proxy.syncRoutes(await Promise.all(apps.map((a) => routeFor(s.db, a))));
  for (const app of apps) {
    const release = await currentRelease(s.db, app.name);
    const web = release ? (await formationOf(s.db, app.name, parseProcesses(release.processes))).web ?? 1 : 0;
    await s.proxy.setLive(app.name, release ? { slot: release.slot, replicas: web } : undefined);
  }
  // Add-ons first: the apps' processes find their databases on their networks when they start.
  await reconcileAddons(s).catch((err: unknown) => s.log.error({ err }, 'add-on reconciliation failed (is Docker running?)'));
  await reconcileContainers(s, interruptedDeploys);
}

export async function reconcileContainers(s: Services, interruptedDeploys = 1): Promise<void> {
  const apps = await listApps(s.db);
  // Containers exist only for releases, or were left by a deploy a crash interrupted (a failed
  // deploy removes its own). Without either there is nothing to reconcile, and not loading
  // dockerode keeps an idle hiy ~20 MB smaller.
  if (interruptedDeploys === 0 && !apps.some((a) => a.current_release_id !== null)) return;
  const runtime = await s.runtime();
  const known = new Set(apps.map((a) => a.name));
  // Only this instance's containers: another hiy (or test server) may share the engine.
  const all = (await runtime.list()).filter((c) => c.instance === s.instanceId);
  for (const c of all.filter((c) => !known.has(c.app))) {
    s.log.warn({ container: c.name }, 'removing a container of an app that no longer exists');
    await runtime.remove(c.id);
  }
  for (const app of apps) {
    const release = await currentRelease(s.db, app.name);
    const mine = all.filter((c) => c.app === app.name);
    const owned = release ? mine.filter((c) => c.deployId === release.deploy_id) : [];
    for (const c of mine.filter((c) => !owned.includes(c))) {
      if (c.run !== null) s.log.warn({ app: app.name, container: c.name, run: c.run }, 'removing a one-off container the previous hiy left (runs end with the hiy that started them)');
      else s.log.warn({ app: app.name, container: c.name }, 'removing a container no release owns (interrupted deploy)');
      await runtime.remove(c.id);
    }
    if (!release) continue;
    await ensureReleaseRunning(s, runtime, app, release, owned)
      .catch((err: unknown) => s.log.error({ err, app: app.name }, 'could not start the current release'));
    await restartIfEnvStale(s, app.name, owned);
  }
}

/**
 * Every process of the current release as its formation says: web replicas on their expected
 * ports (a container on another port, e.g. from before a port layout change, is replaced), each
 * worker type's containers; stopped ones are started, missing ones created, extra ones removed.
 */
async function ensureReleaseRunning(s: Services, runtime: Runtime, app: App, release: Release, owned: ContainerInfo[]): Promise<void> {
  const processes = parseProcesses(release.processes);
  // Types stopped by ps:stop stay stopped (stops.ts): their containers go, none is started.
  const formation = await runningFormation(s.db, app.name, processes);
  const keep = new Set<string>();
  // Only when something has to start: the env is decrypted then, not at every start of hiy.
  let plan: ReleasePlan | undefined;
  const planned = async () => (plan ??= await currentPlan(s, app, release));
  const d = { config: s.config, runtime };
  for (const type of ['web', ...workerTypes(processes)]) {
    const have = byReplica(owned, release, type);
    for (let i = 0; i < (formation[type] ?? 0); i++) {
      const c = have.get(i);
      const portOk = type !== 'web' || c?.hostPort === replicaPort(app, s.config.slotPortBase, i, release.slot);
      if (c && portOk) {
        keep.add(c.id);
        if (!c.running) await runtime.start(c.id);
        continue;
      }
      if (c) await runtime.remove(c.id);
      s.log.warn({ app: app.name, release: release.version, process: type, replica: i }, 'a process of the current release was missing; starting it');
      if (type === 'web') keep.add((await startWebReplica(d, await planned(), i)).id);
      else for (const w of await startWorkers(d, await planned(), type, i, 1)) keep.add(w.id);
    }
  }
  for (const c of owned.filter((c) => !keep.has(c.id))) {
    s.log.warn({ app: app.name, container: c.name }, 'removing a container the formation does not ask for');
    await runtime.remove(c.id);
  }
}

/**
 * An attach or detach records the attachment, then restarts the app; a crash in between (the
 * restart was queued, not run) leaves containers whose environment misses the change. Their
 * labels say which add-ons they were made with: a difference restarts the app (zero downtime).
 */
async function restartIfEnvStale(s: Services, app: string, owned: ContainerInfo[]): Promise<void> {
  const want = fingerprintOf(await managedVars(s.db, app));
  if (owned.length === 0 || owned.every((c) => (c.managedEnv ?? '') === want)) return;
  // A restart would start a stopped app; ps:start makes its containers with the current env anyway.
  if ((await stoppedTypes(s.db, app)).size > 0) return;
  s.log.warn({ app }, 'the app runs with an older set of add-ons than it has; restarting it');
  await s.deployer.restart(app, 'manual').catch((err: unknown) => s.log.error({ err, app }, 'could not restart the app with its add-ons'));
}
