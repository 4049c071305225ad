import { randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { validateBranch, validateRepoUrl } from '../apps/input.js';
import { updateApp, type App } from '../apps/repo.js';
import { appView } from '../apps/service.js';
import { isHiyError } from '../errors.js';
import { listDeliveries } from '../webhooks/deliveries.js';
import { HOOK_PREFIX } from '../webhooks/endpoint.js';
import { gitSecretsState, setWebhookSecret } from '../webhooks/secrets.js';
import { SettingsPage, type WebhookState } from '../../ui/pages/settings.js';
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
      await updateApp(ui.s.db, row.name, changes);
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
    if (!row.repo_url) {
      setFlash(c, { kind: 'error', text: 'Set the repository first: the webhook deploys from it.' });
      return seeOther(c, `/apps/${row.name}/settings`);
    }
    const state = await gitSecretsState(ui.s.db, row.name);
    const rotate = formString(await c.req.parseBody(), 'rotate') === '1';
    if (state.webhook && !rotate) {
      setFlash(c, { kind: 'warn', text: 'The webhook already has a secret; use Rotate for a new one.' });
      return seeOther(c, `/apps/${row.name}/settings`);
    }
    const secret = randomBytes(32).toString('hex');
    await setWebhookSecret(ui.s.db, ui.s.secrets, row.name, secret);
    ui.s.log.info({ app: row.name, rotated: state.webhook }, state.webhook ? 'webhook secret rotated (dashboard)' : 'webhook secret created (dashboard)');
    return showSettings(ui, c, row, secret);
  });
}

async function showSettings(ui: Ui, c: UiContext, row: App, newSecret?: string): Promise<Response> {
  const [view, status, state, deliveries] = await Promise.all([
    appView(ui.s, row), statusOfApp(ui, row), gitSecretsState(ui.s.db, row.name), listDeliveries(ui.s.db, row.name, 10),
  ]);
  const webhook: WebhookState = {
    configured: state.webhook,
    payloadUrl: `${ui.s.config.publicUrl}${HOOK_PREFIX}${row.name}`,
    repoToken: state.repoToken,
    githubSettingsUrl: githubHooksPage(row.repo_url),
    ...(newSecret ? { newSecret } : {}),
    deliveries: deliveries.map((d) => ({ id: d.id, event: d.event, ref: d.ref, outcome: d.outcome, received_at: d.received_at, deploy_id: d.deploy_id })),
  };
  return sendPage(c, SettingsPage({ ctx: pageCtx(ui, c, `${row.name} settings`, 'apps'), app: view, status, webhook }));
}

function githubHooksPage(repoUrl: string | null): string | null {
  const m = repoUrl ? /^https:\/\/github\.com\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+?)(\.git)?\/?$/i.exec(repoUrl) : null;
  return m ? `https://github.com/${m[1]}/${m[2]}/settings/hooks/new` : null;
}
