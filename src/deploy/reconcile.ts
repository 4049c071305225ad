import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { appRouteOf, listApps } from '../apps/repo.js';
import { readEnv } from '../env/repo.js';
import { LABEL_APP, LABEL_DEPLOY, LABEL_INSTANCE } from '../runtime/runtime.js';
import type { Services } from '../services.js';
import { startContainer } from './pipeline.js';
import { failInterrupted } from './records.js';
import { currentRelease } from './releases.js';

/**
 * At every start (a crash included) the database is the truth. First, before the API answers:
 * deploys that were in flight are settled and their leftover source archives go.
 */
export async function settleInterruptedDeploys(s: Pick<Services, 'db' | 'log' | 'config'>): Promise<void> {
  const n = await failInterrupted(s.db);
  if (n > 0) s.log.warn({ count: n }, 'marked interrupted deploys as failed');
  await rm(join(s.config.dataDir, 'sources'), { recursive: true, force: true });
}

/**
 * Then, with the API up: Caddy's routes are rebuilt from the apps table, containers no current
 * release owns are removed, and each current release is running.
 */
export async function recoverAtStart(s: Services): Promise<void> {
  const apps = await listApps(s.db);
  await s.proxy.syncRoutes(apps.map((a) => appRouteOf(a, s.config.slotPortBase)));
  await reconcileContainers(s);
}

export async function reconcileContainers(s: Services): Promise<void> {
  const apps = await listApps(s.db);
  // Destroy removes an app's containers itself; with no apps there is nothing to reconcile, and
  // not loading dockerode keeps an idle hiy ~27 MB smaller.
  if (apps.length === 0) return;
  const runtime = await s.runtime();
  const known = new Set(apps.map((a) => a.name));
  // Only this instance's containers: another hiy (or test server) may share the engine.
  const all = (await runtime.list()).filter((c) => c.labels[LABEL_INSTANCE] === s.instanceId);
  for (const c of all.filter((c) => !known.has(c.labels[LABEL_APP] ?? ''))) {
    s.log.warn({ container: c.name }, 'removing a container of an app that no longer exists');
    await runtime.remove(c.id);
  }
  for (const app of apps) {
    const release = await currentRelease(s.db, app.name);
    const mine = all.filter((c) => c.labels[LABEL_APP] === app.name);
    const owned = release ? mine.filter((c) => c.labels[LABEL_DEPLOY] === String(release.deploy_id)) : [];
    for (const c of mine.filter((c) => !owned.includes(c))) {
      s.log.warn({ app: app.name, container: c.name }, 'removing a container no release owns (interrupted deploy)');
      await runtime.remove(c.id);
    }
    if (!release) continue;
    if (owned.length === 0) {
      s.log.warn({ app: app.name, release: release.version }, 'current release was not running; starting it');
      const env = await readEnv(s.db, s.secrets, app.name);
      await startContainer({ config: s.config, runtime }, app, release.image, release.slot, env, release.deploy_id, [])
        .catch((err: unknown) => s.log.error({ err, app: app.name }, 'could not start the current release'));
    } else {
      for (const c of owned.filter((c) => !c.running)) await runtime.start(c.id);
    }
  }
}
