import type { Hono } from 'hono';
import { validateBranch, validateRepoUrl } from '../src/apps/input.js';
import type { App } from '../src/apps/repo.js';
import { appView, updateAppSettings } from '../src/apps/service.js';
import { placementView } from '../src/apps/placement-service.js';
import { isHiyError } from '../src/errors.js';
import { listDeliveries } from '../src/webhooks/deliveries.js';
import { makeWebhookSecret, webhookView } from '../src/webhooks/settings.js';
import { SettingsPage, type WebhookState } from './pages/settings.js';
import { appFromPath, statusOfApp } from './apps-data.js';
import { formString } from './forms.js';
import { pageCtx, seeOther, sendPage, setFlash, type Ui, type UiContext, type UiEnv } from './ui.js';

/** Settings: limits (read-only), the GitHub repository and webhook, and destroy. */
export function settingsRoutes(ui: Ui, app: Hono<UiEnv>): void {
  app.get('/apps/:name/settings', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    return showSettings(ui, c, row);
  });

  app.post('/apps/:name/settings/repo', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const form = await c.req.parseBody();
    const rawUrl = (formString(form, 'repo_url') ?? '').trim();
    try {
      const changes = { repo_url: rawUrl === '' ? null : validateRepoUrl(rawUrl), branch: validateBranch((formString(form, 'branch') ?? '').trim()) };
      await updateAppSettings(ui.s, row.name, changes);
      ui.s.log.info({ app: row.name, fields: Object.keys(changes) }, 'app updated (dashboard)');
      setFlash(c, { kind: 'ok', text: 'Repository saved.' });
    } catch (err) {
      if (!isHiyError(err) || err.status >= 500) throw err;
      setFlash(c, { kind: 'error', text: err.message });
    }
    return seeOther(c, `/apps/${row.name}/settings`);
  });

  // The secret is shown in this answer only (not through a redirect: it must not sit in a cookie).
  app.post('/apps/:name/webhook', async (c) => {
    const row = await appFromPath(ui, c.req.param('name'));
    const rotate = formString(await c.req.parseBody(), 'rotate') === '1';
    const made = await makeWebhookSecret(ui.s, row, rotate);
    if (!made.made) {
      setFlash(c, made.why === 'no_repo_url'
        ? { kind: 'error', text: 'Set the repository first: the webhook deploys from it.' }
        : { kind: 'warn', text: 'The webhook already has a secret; use Rotate for a new one.' });
      return seeOther(c, `/apps/${row.name}/settings`);
    }
    ui.s.log.info({ app: row.name, rotated: made.rotated }, made.rotated ? 'webhook secret rotated (dashboard)' : 'webhook secret created (dashboard)');
    return showSettings(ui, c, row, made.secret);
  });
}

async function showSettings(ui: Ui, c: UiContext, row: App, newSecret?: string): Promise<Response> {
  const [view, placement, status, hook, deliveries] = await Promise.all([
    appView(ui.s, row), placementView(ui.s, row), statusOfApp(ui, row), webhookView({ db: ui.s.db, publicUrl: ui.s.config.publicUrl }, row), listDeliveries(ui.s.db, row.name, 10),
  ]);
  const webhook: WebhookState = {
    configured: hook.configured,
    payloadUrl: hook.payload_url,
    repoToken: hook.repo_token,
    githubSettingsUrl: hook.github_settings_url,
    events: hook.events,
    registryUrl: hook.registry_url,
    image: hook.image,
    ...(newSecret ? { newSecret } : {}),
    deliveries: deliveries.map((d) => ({ id: d.id, event: d.event, ref: d.ref, outcome: d.outcome, received_at: d.received_at, deploy_id: d.deploy_id })),
  };
  return sendPage(c, SettingsPage({ ctx: pageCtx(ui, c, `${row.name} settings`, 'apps'), app: view, placement, status, webhook }));
}
