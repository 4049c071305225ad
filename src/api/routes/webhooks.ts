import { Hono } from 'hono';
import type { DeliveryView } from '../../contract.js';
import { HiyError } from '../../errors.js';
import type { Services } from '../../services.js';
import { listDeliveries } from '../../webhooks/deliveries.js';
import { gitSecretsState, setRepoToken } from '../../webhooks/secrets.js';
import { makeWebhookSecret, webhookView } from '../../webhooks/settings.js';
import type { ApiEnv } from '../auth.js';
import { optionalBoolean, parseIntParam, pathApp } from '../body.js';
import { rejectUnknownFields } from '../../fields.js';
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
    return c.json({ app: app.name, webhook: await webhookView({ db: s.db, publicUrl: s.config.publicUrl }, app) });
  });

  r.post('/:name/webhook', async (c) => {
    const app = await pathApp(s.db, c);
    const body = await readJsonObject(c);
    rejectUnknownFields(body, ['rotate']);
    const made = await makeWebhookSecret(s, app, optionalBoolean(body, 'rotate') ?? false);
    if (!made.made && made.why === 'no_repo_url') {
      throw new HiyError('conflict', `"${app.name}" has no repo_url: set the GitHub repository first (hiy update ${app.name} --repo https://github.com/<owner>/<repo>.git)`);
    }
    if (!made.made) {
      throw new HiyError('conflict', `"${app.name}" already has a webhook secret (it was shown once, when it was made); rotate it to get a new one (hiy webhook ${app.name} --rotate, or {"rotate":true})`);
    }
    s.log.info({ app: app.name, rotated: made.rotated }, made.rotated ? 'webhook secret rotated' : 'webhook secret created');
    const webhook = { ...(await webhookView({ db: s.db, publicUrl: s.config.publicUrl }, app)), secret: made.secret };
    return c.json({ app: app.name, rotated: made.rotated, webhook }, made.rotated ? 200 : 201);
  });

  r.get('/:name/webhook/deliveries', async (c) => {
    const app = await pathApp(s.db, c);
    const raw = c.req.query('limit');
    const limit = raw === undefined ? 50 : parseIntParam('limit', raw, 1, 500);
    const rows = await listDeliveries(s.db, app.name, limit);
    return c.json({
      app: app.name,
      deliveries: rows.map((d): DeliveryView => ({
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
    // One rule for every DELETE: what is not there is 404 (docs/api.md, conventions).
    if (!(await gitSecretsState(s.db, app.name)).repoToken) throw new HiyError('not_found', `${app.name} has no repo token`);
    await setRepoToken(s.db, s.secrets, app.name, null);
    s.log.info({ app: app.name }, 'repo token removed');
    return c.json({ app: app.name, repo_token: false });
  });

  return r;
}
