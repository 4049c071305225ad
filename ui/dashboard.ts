import { stateRoutes } from './state-routes.js';
import { liveSessionAddresses } from '../src/auth/sessions.js';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../src/auth/sessions.js';
import { isHiyError } from '../src/errors.js';
import type { Services } from '../src/services.js';
import { ErrorPage } from './pages/error.js';
import { appRoutes } from './app-routes.js';
import { addonRoutes } from './addon-routes.js';
import { loadAssets, serveAsset } from './assets.js';
import { authRoutes, requireSession } from './auth-routes.js';
import { consoleRoutes } from './console-routes.js';
import { deployRoutes } from './deploy-routes.js';
import { envRoutes } from './env-routes.js';
import { logRoutes } from './log-routes.js';
import { settingsRoutes } from './settings-routes.js';
import type { LiveDeploys, MetricsSource, RuntimeLogSource } from './sources.js';
import { ObservedMetrics, type SamplerView } from './system-info.js';
import { systemRoutes } from './system-routes.js';
import { DEFAULT_THROTTLE, HashGate, LoginThrottle, type ThrottlePolicy } from './throttle.js';
import { pageCtx, sendPage, type Ui, type UiEnv } from './ui.js';

export interface DashboardOptions {
  /** The installed hiy's root (package.json, ui/, node_modules/). */
  root: string;
  live: LiveDeploys;
  /** The app-log ring buffer (src/logs); without it the logs page shows Docker's recent output. */
  logs?: RuntimeLogSource;
  /** The metrics sampler's latest samples (src/metrics); series and alerts are read from their tables. */
  sampler?: SamplerView;
  /** Replaces the metrics view entirely (tests). */
  metrics?: MetricsSource;
  sessionPolicy?: SessionPolicy;
  throttle?: ThrottlePolicy;
}

// No inline script or style anywhere: every script and stylesheet is a file of this origin.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface Dashboard {
  app: Hono<UiEnv>;
  /** Closes what the dashboard holds open (the container watch's event stream, shared with the API). */
  stop(): Promise<void>;
}

/** The web dashboard: server-rendered pages on the control plane's listener, beside /api/v1. */
export function createDashboard(s: Services, opts: DashboardOptions): Dashboard {
  const ui: Ui = {
    s,
    assets: loadAssets(opts.root),
    live: opts.live,
    logs: opts.logs,
    metrics: opts.metrics ?? new ObservedMetrics(s.db, s.config.dataDir, opts.sampler, () => s.runtime()),
    containers: s.containers,
    throttle: new LoginThrottle(opts.throttle ?? DEFAULT_THROTTLE),
    gate: new HashGate(2),
    policy: opts.sessionPolicy ?? DEFAULT_SESSION_POLICY,
  };
  // Addresses of live sessions are known ones: after a restart they may still sign in while a
  // global sign-in pause runs (throttle.ts).
  void liveSessionAddresses(s.db, ui.policy).then((list) => { for (const a of list) ui.throttle.remember(a.ip, a.at); }, () => undefined);
  const app = new Hono<UiEnv>();
  app.use('*', async (c, next) => {
    await next();
    const nonce = c.get('styleNonce');
    c.header('content-security-policy', nonce ? CSP.replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`) : CSP);
    c.header('x-frame-options', 'DENY');
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'same-origin');
    c.header('cross-origin-opener-policy', 'same-origin');
  });
  app.get('/assets/*', (c) => serveAsset(ui.assets, c) ?? c.text('not found', 404));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.use('*', compress());
  app.use('*', bodyLimit({ maxSize: 1024 * 1024, onError: (c) => c.text('request body too large (1 MB at most)', 413) }));
  authRoutes(ui, app);
  app.use('*', requireSession(ui));
  stateRoutes(ui, app);
  appRoutes(ui, app);
  envRoutes(ui, app);
  addonRoutes(ui, app);
  deployRoutes(ui, app);
  logRoutes(ui, app);
  consoleRoutes(ui, app);
  settingsRoutes(ui, app);
  systemRoutes(ui, app);
  app.notFound((c) => errorPage(ui, c, 404, `There is no page at ${c.req.path}.`));
  app.onError((err, c) => {
    if (isHiyError(err) && err.status < 500) return errorPage(ui, c, err.status === 404 ? 404 : err.status === 409 ? 409 : 400, err.message);
    if (isHiyError(err) && err.code === 'unavailable') return errorPage(ui, c, 503, err.message);
    s.log.error({ err, path: c.req.path, method: c.req.method }, 'dashboard error');
    return errorPage(ui, c, 500, 'The server ran into an error (it is in hiy’s log).');
  });
  return { app, stop: () => ui.containers.stop() };
}

function errorPage(ui: Ui, c: Context<UiEnv>, status: 400 | 404 | 409 | 500 | 503, message: string): Promise<Response> {
  return sendPage(c, ErrorPage({ ctx: pageCtx(ui, c, status === 404 ? 'Not found' : 'Error'), status, message }), status);
}

/**
 * One hono app for the listener: /api/... goes to the REST API (its own auth, errors and 404s),
 * everything else to the dashboard. Neither's middleware can touch the other's requests.
 */
export function withDashboard(api: Hono<any>, dashboard: Hono<any>): Hono {
  const root = new Hono();
  root.all('*', (c) => (c.req.path === '/api' || c.req.path.startsWith('/api/') ? api.fetch(c.req.raw, c.env) : dashboard.fetch(c.req.raw, c.env)));
  return root;
}
