import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import type { App } from '../../apps/repo.js';
import { HiyError } from '../../errors.js';
import type { Services } from '../../services.js';
import { listDeliveries } from '../../webhooks/deliveries.js';
import { HOOK_PREFIX } from '../../webhooks/endpoint.js';
import { gitSecretsState, setRepoToken, setWebhookSecret } from '../../webhooks/secrets.js';
import type { ApiEnv } from '../auth.js';
import { optionalBoolean, parseIntParam, pathApp, rejectUnknownFields } from '../body.js';
import { readJsonObject } from '../errors.js';

// A token goes into an HTTP header of git's requests: printable ASCII only (no CR/LF injection).
const TOKEN_RE = /^[\x21-\x7e]{1,1000}$/;

/**
 * /api/v1/apps/:name/webhook, .../webhook/deliveries and .../repo-token. The webhook secret is in
 * exactly one answer (the one that makes it); the repo token is in none.
 */
export function webhookRoutes(s: Services): Hono<ApiEnv> {
  const r = new Hono<ApiEnv>();

  r.get('/:name/webhook', async (c) => {
    const app = await pathApp(s.db, c);
    const state = await gitSecretsState(s.db, app.name);
    return c.json({ app: app.name, webhook: { configured: state.webhook, ...settings(s, app), repo_token: state.repoToken } });
  });

  r.post('/:name/webhook', async (c) => {
    const app = await pathApp(s.db, c);
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['rotate']);
    const rotate = optionalBoolean(body, 'rotate') ?? false;
    if (!app.repo_url) {
      throw new HiyError('conflict', `"${app.name}" has no repo_url: set the GitHub repository first (hiy update ${app.name} --repo https://github.com/<owner>/<repo>.git)`);
    }
    const state = await gitSecretsState(s.db, app.name);
    if (state.webhook && !rotate) {
      throw new HiyError('conflict', `"${app.name}" already has a webhook secret (it was shown once, when it was made); rotate it to get a new one (hiy webhook ${app.name} --rotate, or {"rotate":true})`);
    }
    const secret = randomBytes(32).toString('hex');
    await setWebhookSecret(s.db, s.secrets, app.name, secret);
    s.log.info({ app: app.name, rotated: state.webhook }, state.webhook ? 'webhook secret rotated' : 'webhook secret created');
    return c.json({ app: app.name, rotated: state.webhook, webhook: { configured: true, ...settings(s, app), secret, repo_token: state.repoToken } }, state.webhook ? 200 : 201);
  });

  r.get('/:name/webhook/deliveries', async (c) => {
    const app = await pathApp(s.db, c);
    const raw = c.req.query('limit');
    const limit = raw === undefined ? 50 : parseIntParam('limit', raw, 1, 500);
    const rows = await listDeliveries(s.db, app.name, limit);
    return c.json({
      app: app.name,
      deliveries: rows.map((d) => ({
        id: d.id, delivery_id: d.delivery_id, event: d.event, ref: d.ref, after: d.after_sha,
        received_at: d.received_at, outcome: d.outcome, deploy_id: d.deploy_id,
      })),
    });
  });

  r.put('/:name/repo-token', async (c) => {
    const app = await pathApp(s.db, c);
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['token']);
    if (typeof body.token !== 'string' || !TOKEN_RE.test(body.token)) {
      throw new HiyError('invalid_input', 'token must be 1-1000 printable characters without spaces (a GitHub fine-grained token with Contents: read-only)');
    }
    await setRepoToken(s.db, s.secrets, app.name, body.token);
    s.log.info({ app: app.name }, 'repo token set');
    return c.json({ app: app.name, repo_token: true });
  });

  r.delete('/:name/repo-token', async (c) => {
    const app = await pathApp(s.db, c);
    await setRepoToken(s.db, s.secrets, app.name, null);
    s.log.info({ app: app.name }, 'repo token removed');
    return c.json({ app: app.name, repo_token: false });
  });

  return r;
}

/** What to enter on GitHub (Settings → Webhooks → Add webhook). */
function settings(s: Services, app: App) {
  return {
    payload_url: `${s.config.publicUrl}${HOOK_PREFIX}${app.name}`,
    content_type: 'application/json',
    events: ['push'],
    repo_url: app.repo_url,
    branch: app.branch,
    github_settings_url: githubHooksPage(app.repo_url),
  };
}

function githubHooksPage(repoUrl: string | null): string | null {
  const m = repoUrl ? /^https:\/\/github\.com\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+?)(\.git)?\/?$/i.exec(repoUrl) : null;
  return m ? `https://github.com/${m[1]}/${m[2]}/settings/hooks/new` : null;
}
