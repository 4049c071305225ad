import type { AppView } from '../contract.js';
import { currentRelease } from '../deploy/releases.js';
import { lastDeploy } from '../deploy/repo.js';
import { volumeName } from '../deploy/processes.js';
import { stoppedTypes } from '../deploy/formation.js';
import type { ContainerInfo } from '../runtime/runtime.js';
import { apiState, appStatus } from './status.js';
import { HiyError, isHiyError } from '../errors.js';
import type { Services } from '../services.js';
import type { CreateAppInput } from './input.js';
import { appRouteOf, deleteApp, getApp, insertApp, updateApp, type App, type AppUpdate } from './repo.js';
import { appUrl, gitRemoteUrl } from './urls.js';
import { DEFAULT_IMAGE_TAG } from './source.js';
import { nodeLabelsOf } from './placement.js';

/**
 * What the API shows of an app: its settings, where it lives, what it runs and its status.
 * `containers`: every app's containers when the caller fetched them once for many apps.
 */
export async function appView(s: Pick<Services, 'db' | 'config' | 'containers'>, app: App, containers?: Map<string, ContainerInfo[]> | null): Promise<AppView> {
  const [release, deploy, stopped, byApp] = await Promise.all([
    currentRelease(s.db, app.name), lastDeploy(s.db, app.name), stoppedTypes(s.db, app.name),
    containers === undefined ? s.containers.byAppOf([app]) : containers ?? undefined,
  ]);
  const status = appStatus({ hasRelease: release !== undefined, lastDeploy: deploy, containers: byApp === undefined ? undefined : byApp.get(app.name) ?? [], stopped });
  return {
    name: app.name,
    repo_url: app.repo_url,
    branch: app.branch,
    port: app.port,
    memory_mb: app.memory_mb,
    cpus: app.cpus,
    health_path: app.health_path,
    health_timeout_s: app.health_timeout_s,
    drain_s: app.drain_s,
    dockerfile_path: app.dockerfile_path,
    build_images: app.build_images ? JSON.parse(app.build_images) as Record<string, string> : {},
    volume_path: app.volume_path,
    source: app.source,
    image_tag: app.source === 'git' ? null : app.image_tag ?? DEFAULT_IMAGE_TAG,
    domain: `${app.name}.${s.config.domain}`,
    url: appUrl(s.config, app.name),
    git_remote: gitRemoteUrl(s.config, app.name),
    status: apiState(status),
    status_note: status.note ?? null,
    stopped: [...stopped].sort(),
    maintenance: app.maintenance === 1,
    node_labels: nodeLabelsOf(app),
    spread: app.spread !== 0,
    current_release: release
      ? { id: release.id, version: release.version, sha: release.sha, image: release.image, image_ref: release.image_ref, created_at: release.created_at }
      : null,
    last_deploy: deploy
      ? { id: deploy.id, status: deploy.status, sha: deploy.sha, triggered_by: deploy.triggered_by, created_at: deploy.created_at, finished_at: deploy.finished_at }
      : null,
    created_at: app.created_at,
    updated_at: app.updated_at,
  };
}

/**
 * Creates the row, the bare git repo and the proxy route. Whatever fails undoes the steps before it,
 * so a failed create leaves no half-made app that a retry would collide with.
 */
export async function createApp(s: Services, input: CreateAppInput): Promise<App> {
  const app = await insertApp(s.db, input);
  try {
    await s.repos.create(app.name);
  } catch (cause) {
    await undo(s, app.name, false);
    throw wrap(cause, `the git repository of "${app.name}" could not be created`);
  }
  try {
    await s.proxy.setRoute(appRouteOf(app));
  } catch (cause) {
    await undo(s, app.name, true);
    throw wrap(cause, `the proxy did not accept the route of "${app.name}"`);
  }
  s.log.info({ app: app.name }, 'app created');
  await s.appsChanged();
  return app;
}

/** Saves changed settings; they apply at the next deploy. Watchers hear of it (Gatus probes the health path). */
export async function updateAppSettings(s: Pick<Services, 'db' | 'appsChanged'>, name: string, changes: AppUpdate): Promise<App> {
  const app = await updateApp(s.db, name, changes);
  await s.appsChanged();
  return app;
}

async function undo(s: Services, name: string, repoMade: boolean): Promise<void> {
  try {
    if (repoMade) await s.repos.remove(name);
    await deleteApp(s.db, name);
  } catch (err) {
    s.log.error({ err, app: name }, 'could not undo a failed app create');
  }
}

function wrap(cause: unknown, message: string): HiyError {
  if (isHiyError(cause)) return new HiyError(cause.code, `${message}: ${cause.message}`, { cause, status: cause.status });
  return new HiyError('unavailable', `${message}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

/**
 * Stops and removes everything of an app, the row last: if a step fails, the app is still listed
 * and `destroy` can be run again. Docker and the proxy being down must not make an app undeletable.
 */
/** What destroy removed beyond the app itself: the names of the volumes actually deleted. */
export interface Destroyed { volumesRemoved: string[] }

export async function destroyApp(s: Services, name: string, opts: { volumes?: boolean } = {}): Promise<Destroyed> {
  await getApp(s.db, name);
  await s.deployer.forgetApp(name);
  // Its one-off runs (hiy run, consoles, cron) end, and none starts until it is gone: a cron time
  // in this moment must not leave a container behind (its jobs stop with appsChanged below).
  await s.runs.closeApp(name, 'the app was destroyed');
  try {
    try {
      await s.proxy.removeRoute(name);
    } catch (err) {
      s.log.warn({ err, app: name }, 'could not remove the proxy route of a destroyed app');
    }
    const volumesRemoved = await removeDockerObjects(s, name, opts.volumes === true);
    await s.repos.remove(name);
    await deleteApp(s.db, name);
    s.log.info({ app: name, volumesRemoved }, 'app destroyed');
    await s.appsChanged();
    return { volumesRemoved };
  } finally {
    s.runs.reopenApp(name);
  }
}

async function removeDockerObjects(s: Services, app: string, volumes: boolean): Promise<string[]> {
  let runtime;
  try {
    runtime = await s.runtime();
  } catch (err) {
    s.log.warn({ err, app }, 'docker is not available: containers and images of the destroyed app were not removed');
    return [];
  }
  const removed: string[] = [];
  // Each kind on its own: one stuck container must not keep the images and network around.
  const steps: [string, () => Promise<void>][] = [
    ['containers', async () => { for (const c of await runtime.list({ app })) await runtime.remove(c.id); }],
    // By tag, not id: two apps built from the same source share an image id, and removing the
    // id would fail (referenced in several repositories) or take the other app's image with it.
    ['images', async () => { for (const i of await runtime.listImages({ app })) for (const t of i.tags.length ? i.tags : [i.id]) await runtime.removeImage(t); }],
    // Attached add-ons stay (their data is theirs); they leave the network so it can go.
    // Its npm/pip caches: nothing built later, by any app, may find them (docker-caches.ts).
    ['dependency caches', async () => { await (await s.builder()).pruneCaches(app); }],
    ['network', async () => {
      for (const c of await runtime.listAddonContainers()) if (c.apps.includes(app)) await runtime.detachAddon(c.addon, app);
      await runtime.removeNetwork(app);
    }],
  ];
  // The app's data outlives everything else unless the operator asks for it explicitly.
  if (volumes) {
    steps.push(['volumes', async () => {
      // Only what exists is reported removed: the engine answers a missing volume like a removed one.
      for (const v of new Set((await runtime.listVolumes({ app })).map((x) => x.name))) {
        await runtime.removeVolume(v);
        removed.push(v);
      }
      await runtime.removeVolume(volumeName(app));
    }]);
  }
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      s.log.warn({ err, app }, `could not remove the ${what} of a destroyed app`);
    }
  }
  return removed;
}
