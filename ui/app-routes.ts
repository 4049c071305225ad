import type { Hono } from 'hono';
import { appView, destroyApp } from '../src/apps/service.js';
import { addonViews } from '../src/addons/views.js';
import { listDeploys } from '../src/deploy/repo.js';
import { currentRelease, listReleases } from '../src/deploy/releases.js';
import { isHiyError } from '../src/errors.js';
import { AppPage } from './pages/app.js';
import { AppRows, AppsPage } from './pages/apps.js';
import { appFromPath, appRows, refreshInterval, statusOfApp } from './apps-data.js';
import { formString } from './forms.js';
import { pageCtx, seeOther, sendPage, setFlash, type Ui, type UiContext, type UiEnv } from './ui.js';

/** The apps list, an app's overview and the actions on it (deploy, restart, rollback, destroy). */
export function appRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/', async (c) => {
    const rows = await appRows(ui);
    return sendPage(c, AppsPage({ ctx: pageCtx(ui, c, 'Apps', 'apps'), apps: rows, gitBase: ui.s.config.publicUrl, refreshSec: refreshInterval(rows) }));
  });

  // The rows alone, for htmx's refresh of the badges.
  app.get('/apps/rows', async (c) => {
    const rows = await appRows(ui);
    c.header('cache-control', 'no-store');
    return c.html(AppRows({ apps: rows, refreshSec: refreshInterval(rows) }));
  });

  app.get('/apps/:name', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const [view, status, deploys, releases, current, series, addons] = await Promise.all([
      appView(ui.s, row),
      statusOfApp(ui, row),
      listDeploys(ui.s.db, row.name, 20),
      listReleases(ui.s.db, row.name),
      currentRelease(ui.s.db, row.name),
      ui.metrics.appSeries([row.name], 3600).then((m) => m.get(row.name)).catch(() => undefined),
      addonViews(ui.s, { app: row.name }),
    ]);
    return sendPage(c, AppPage({ ctx: pageCtx(ui, c, row.name, 'apps'), app: view, status, deploys, releases: releases.slice(0, 20), currentVersion: current?.version ?? null, series, addons }));
  });

  app.post('/apps/:name/deploy', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    return afterAction(ui, c, row.name, () => ui.s.deployer.deployBranchHead(row.name, 'dashboard'), 'Deploy queued');
  });

  app.post('/apps/:name/deploy-image', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const image = (formString(await c.req.parseBody(), 'image') ?? '').trim();
    return afterAction(ui, c, row.name, () => ui.s.deployer.deployImage(row.name, image, 'dashboard'), `Deploy of ${image.slice(0, 200)} queued`);
  });

  app.post('/apps/:name/restart', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    return afterAction(ui, c, row.name, () => ui.s.deployer.restart(row.name, 'dashboard'), 'Restart queued');
  });

  app.post('/apps/:name/rollback', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const raw = formString(await c.req.parseBody(), 'version');
    const version = raw && /^\d{1,7}$/.test(raw) ? Number(raw) : undefined;
    return afterAction(ui, c, row.name, async () => (await ui.s.deployer.rollback(row.name, version)).deployId,
      `Rollback${version ? ` to v${version}` : ''} queued`);
  });

  app.post('/apps/:name/destroy', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const confirm = formString(await c.req.parseBody(), 'confirm');
    if (confirm !== row.name) {
      setFlash(c, { kind: 'error', text: `Not destroyed: type the app's name (${row.name}) exactly to confirm.` });
      return seeOther(c, `/apps/${row.name}/settings`);
    }
    await destroyApp(ui.s, row.name);
    setFlash(c, { kind: 'ok', text: `Destroyed ${row.name}.` });
    return seeOther(c, '/');
  });
}

/**
 * Runs an action that queues a deploy, then shows that deploy's live log; a refusal (nothing to
 * deploy, no release, pruned image) comes back to the app page as a message.
 */
async function afterAction(ui: Ui, c: UiContext, app: string, run: () => Promise<number>, done: string): Promise<Response> {
  try {
    const id = await run();
    setFlash(c, { kind: 'ok', text: `${done} (#${id}).` });
    return seeOther(c, `/apps/${app}/deploys/${id}`);
  } catch (err) {
    if (!isHiyError(err) || err.status >= 500 && err.code !== 'unavailable') throw err;
    setFlash(c, { kind: 'error', text: err.message });
    return seeOther(c, `/apps/${app}`);
  }
}
