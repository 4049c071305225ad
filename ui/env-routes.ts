import type { Hono } from 'hono';
import { validateEnvKey } from '../src/apps/names.js';
import { listEnvKeys, readEnv, setEnv, unsetEnv } from '../src/env/repo.js';
import { managedVars } from '../src/addons/managed.js';
import { restartToApply, type RestartOutcome } from '../src/deploy/restart-to-apply.js';
import { isHiyError } from '../src/errors.js';
import { EnvPage } from './pages/env.js';
import { appFromPath, appHead, statusOfApp } from './apps-data.js';
import { formString } from './forms.js';
import { pageCtx, seeOther, sendPage, setFlash, type Ui, type UiContext, type UiEnv } from './ui.js';

/**
 * The env editor. Values stay masked until revealed one at a time (a POST with the CSRF token:
 * a value never sits in a URL or a cacheable GET); every change restarts the app, as the API does.
 */
export function envRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/apps/:name/env', async (c) => showEnv(ui, c, {}));

  app.post('/apps/:name/env/reveal', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const key = validateEnvKey(formString(await c.req.parseBody(), 'key'));
    const value = (await readEnv(ui.s.db, ui.s.secrets, row.name))[key];
    ui.s.log.info({ app: row.name, key, event: 'env_revealed' }, 'env value revealed in the dashboard');
    c.header('cache-control', 'no-store');
    if (c.req.header('hx-request')) return c.text(value ?? '(removed meanwhile)');
    return showEnv(ui, c, value === undefined ? {} : { [key]: value });
  });

  app.post('/apps/:name/env/set', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const form = await c.req.parseBody();
    const key = (formString(form, 'key') ?? '').trim();
    // Browsers send CRLF for textarea newlines; the value the user typed has LF.
    const value = (formString(form, 'value') ?? '').replace(/\r\n/g, '\n');
    return change(ui, c, row.name, async () => {
      const set = await setEnv(ui.s.db, ui.s.secrets, row.name, { [key]: value });
      ui.s.log.info({ app: row.name, keys: set }, 'env vars set (dashboard)');
      return `Set ${set.join(', ')}`;
    });
  });

  app.post('/apps/:name/env/unset', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const key = validateEnvKey(formString(await c.req.parseBody(), 'key'));
    return change(ui, c, row.name, async () => {
      const unset = await unsetEnv(ui.s.db, row.name, [key]);
      if (unset.length === 0) return undefined;
      ui.s.log.info({ app: row.name, keys: unset }, 'env vars unset (dashboard)');
      return `Removed ${key}`;
    });
  });
}

async function showEnv(ui: Ui, c: UiContext, revealed: Record<string, string>): Promise<Response> {
  const row = await appFromPath(ui, c.req.param('name') ?? '');
  const [vars, status, managed] = await Promise.all([listEnvKeys(ui.s.db, row.name), statusOfApp(ui, row), managedVars(ui.s.db, row.name)]);
  return sendPage(c, EnvPage({ ctx: pageCtx(ui, c, `${row.name} env`, 'apps'), app: appHead(ui, row), status, vars, revealed, hasRelease: row.current_release_id !== null, managed }));
}

/** Applies a change, restarts the app to apply it (restart-to-apply.ts), and says what happened. */
async function change(ui: Ui, c: UiContext, app: string, apply: () => Promise<string | undefined>): Promise<Response> {
  const back = `/apps/${app}/env`;
  let what: string | undefined;
  try {
    what = await apply();
  } catch (err) {
    if (!isHiyError(err) || err.status >= 500) throw err;
    setFlash(c, { kind: 'error', text: err.message });
    return seeOther(c, back);
  }
  if (what === undefined) {
    setFlash(c, { kind: 'warn', text: 'Nothing changed: that variable was already gone.' });
    return seeOther(c, back);
  }
  let restart: RestartOutcome;
  try {
    restart = await restartToApply(ui.s, app, 'env', undefined, 'dashboard');
  } catch (err) {
    if (!isHiyError(err)) throw err;
    restart = { restarted: false, why: 'unavailable', reason: err.message };
  }
  if (restart.restarted) {
    setFlash(c, { kind: 'ok', text: `${what}; restarting with it (deploy #${restart.deployId}).`, href: `/apps/${app}/deploys/${restart.deployId}`, linkText: 'Follow the restart' });
  } else if (restart.why === 'unavailable') {
    setFlash(c, { kind: 'warn', text: `${what}, but the app could not be restarted: ${restart.reason}` });
  } else if (restart.why === 'stopped') {
    setFlash(c, { kind: 'ok', text: `${what}. The app is stopped: it takes effect when it starts.` });
  } else {
    setFlash(c, { kind: 'ok', text: `${what}. It takes effect at the first deploy.` });
  }
  return seeOther(c, back);
}
