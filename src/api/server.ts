import { appStateRoutes } from './routes/app-state.js';
import { Hono } from 'hono';
import type { Services } from '../services.js';
import { requireToken, type ApiEnv } from './auth.js';
import { apiNotFound, onApiError } from './errors.js';
import { appRoutes } from './routes/apps.js';
import { envRoutes } from './routes/env.js';
import { deployRoutes } from './routes/deploys.js';
import { tokenRoutes } from './routes/tokens.js';
import { releaseRoutes } from './routes/releases.js';
import { domainRoutes } from './routes/domains.js';
import { processRoutes } from './routes/processes.js';
import { webhookRoutes } from './routes/webhooks.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { logRoutes } from './routes/logs.js';
import { deployLogRoutes } from './routes/deploy-log.js';
import { appMetricsRoutes, systemRoutes } from './routes/metrics.js';
import { certRoutes } from './routes/certs.js';
import { imageRoutes } from './routes/images.js';
import { registryRoutes } from './routes/registries.js';
import { nodeRoutes } from './routes/nodes.js';
import { runRoutes } from './routes/runs.js';
import { cronRoutes } from './routes/cron.js';
import { API_VERSION, API_VERSION_HEADER, HIY_VERSION } from '../version.js';
import { addonRoutes, appAddonRoutes } from './routes/addons.js';

/** The REST API under /api/v1. Everything but /health needs an API token. */
export function createApi(s: Services): Hono<ApiEnv> {
  const api = new Hono<ApiEnv>();
  api.onError(onApiError(s.log));
  api.notFound(apiNotFound);

  // Every answer says which API it speaks, so a CLI of another version refuses to misread it.
  api.use('/api/v1/*', async (c, next) => { c.header(API_VERSION_HEADER, String(API_VERSION)); await next(); });
  // `ready` turns true once start-up reconciliation is done; `ok` means the process answers.
  api.get('/api/v1/health', (c) => c.json({ ok: true, ready: s.state.ready, version: HIY_VERSION, api_version: API_VERSION }));
  api.use('/api/v1/*', requireToken(s));
  api.route('/api/v1/apps', appRoutes(s));
  api.route('/api/v1/apps', envRoutes(s));
  api.route('/api/v1/apps', deployRoutes(s));
  api.route('/api/v1/apps', releaseRoutes(s));
  api.route('/api/v1/apps', domainRoutes(s));
  api.route('/api/v1/apps', processRoutes(s));
  api.route('/api/v1/apps', appStateRoutes(s));
  api.route('/api/v1/apps', webhookRoutes(s));
  api.route('/api/v1/tokens', tokenRoutes(s));
  api.route('/api/v1/dashboard', dashboardRoutes(s));
  api.route('/api/v1/apps', logRoutes(s));
  api.route('/api/v1/apps', deployLogRoutes(s));
  api.route('/api/v1/apps', appMetricsRoutes(s));
  api.route('/api/v1/apps', runRoutes(s));
  api.route('/api/v1/apps', cronRoutes(s));
  api.route('/api/v1', systemRoutes(s));
  api.route('/api/v1/certs', certRoutes(s));
  api.route('/api/v1/apps', imageRoutes(s));
  api.route('/api/v1/registries', registryRoutes(s));
  api.route('/api/v1/nodes', nodeRoutes(s));
  api.route('/api/v1/addons', addonRoutes(s));
  api.route('/api/v1/apps', appAddonRoutes(s));
  return api;
}
