import type { Hono } from 'hono';
import { parseCreateApp } from '../src/apps/input.js';
import { setMaintenance } from '../src/apps/maintenance.js';
import { createApp } from '../src/apps/service.js';
import { isHiyError } from '../src/errors.js';
import { appFromPath } from './apps-data.js';
import { formString } from './forms.js';
import { NewAppPage } from './pages/new-app.js';
import { pageCtx, seeOther, sendPage, setFlash, type Ui, type UiEnv } from './ui.js';

/**
 * Creating an app (/new-app: "new" is not a reserved app name, so not under /apps/), maintenance
 * mode and stopping or starting an app's processes. The decisions are the services' (apps/,
 * deploy/stops.ts), as for the API.
 */
export function stateRoutes(ui: Ui, app: Hono<UiEnv>): void {
  const domain = ui.s.config.domain;
  app.get('/new-app', (c) => sendPage(c, NewAppPage({ ctx: pageCtx(ui, c, 'New app', 'apps'), values: {}, domain })));

  app.post('/new-app', async (c) => {
    const form = await c.req.parseBody();
    const values = { name: formString(form, 'name')?.trim(), port: formString(form, 'port')?.trim(), repo_url: formString(form, 'repo_url')?.trim(), branch: formString(form, 'branch')?.trim() };
    try {
      const input = parseCreateApp({
        name: values.name ?? '',
        ...(values.port ? { port: /^\d{1,5}$/.test(values.port) ? Number(values.port) : values.port } : {}),
        ...(values.repo_url ? { repo_url: values.repo_url } : {}),
        ...(values.branch ? { branch: values.branch } : {}),
      });
      const made = await createApp(ui.s, input);
      ui.s.log.info({ app: made.name }, 'app created (dashboard)');
      setFlash(c, { kind: 'ok', text: `Created ${made.name}.` });
      return seeOther(c, `/apps/${made.name}`);
    } catch (err) {
      if (!isHiyError(err) || err.status >= 500) throw err;
      return sendPage(c, NewAppPage({ ctx: pageCtx(ui, c, 'New app', 'apps'), values, error: err.message, domain }), err.status === 409 ? 409 : 400);
    }
  });

  app.post('/apps/:name/maintenance', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const on = formString(await c.req.parseBody(), 'enabled') === 'on';
    await setMaintenance(ui.s, row.name, on);
    setFlash(c, { kind: 'ok', text: on ? `Maintenance mode is on: ${row.name}'s URL shows the maintenance page.` : `Maintenance mode is off: ${row.name} is served again.` });
    return seeOther(c, `/apps/${row.name}`);
  });

  for (const action of ['stop', 'start'] as const) {
    app.post(`/apps/:name/ps/${action}`, async (c) => {
      const row = await appFromPath(ui, c.req.param('name'));
      try {
        const res = action === 'stop' ? await ui.s.deployer.stopProcesses(row.name) : await ui.s.deployer.startProcesses(row.name);
        setFlash(c, { kind: 'ok', text: res.types.length === 0 ? 'Nothing to do.' : `${action === 'stop' ? 'Stopped' : 'Started'} ${res.types.join(', ')}.` });
      } catch (err) {
        if (!isHiyError(err) || (err.status >= 500 && err.code !== 'unavailable')) throw err;
        setFlash(c, { kind: 'error', text: err.message });
      }
      return seeOther(c, `/apps/${row.name}`);
    });
  }
}
