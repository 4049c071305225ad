/**
 * Pure functions that build hiy's Caddy 2.6 JSON config. No I/O: caddy.ts sends the result
 * through the admin API, the unit tests inspect it.
 *
 * The one rule that shapes everything here: an app's route never changes during a deploy.
 * Every admin-API change is a full reload, and a reload closes idle keep-alive connections
 * (DESIGN.md, "Facts measured"). So each app gets two fixed upstream slots, Caddy always
 * prefers the first one that is up (`first`), and a deploy is only container lifecycle on
 * those two ports: start the new release on the idle slot, stop the old one. Dial failures
 * and (for GET) failed round trips are retried for up to 5 s, so the short moment in which
 * Caddy has not yet noticed that a slot died costs a retry, never an error.
 */
import type { HostPort, TlsMode } from '../config.js';
import type { AppRoute } from './proxy.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Name of hiy's one HTTP server in apps.http.servers; every route lives in its route list. */
export const SERVER_NAME = 'hiy';
export const REDIRECT_SERVER_NAME = 'hiy-redirect';
export const CONTROL_PLANE_ID = 'hiy-control-plane';
export const FALLBACK_ID = 'hiy-fallback';
const APP_ID_PREFIX = 'hiy-app-';

/**
 * How Caddy decides that a slot is down.
 * - `passive` (what hiy uses): a failed proxy attempt marks the slot down for `fail_duration`;
 *   the app's status codes never matter, so an app whose `/` answers 404 is served like any other.
 * - `active`: additionally probes `uri` every 500 ms. Caddy 2.6 counts only 2xx/3xx as healthy
 *   (`expect_status` takes one code or one class; "< 500" cannot be said), so an app that
 *   answers 404 there is never served: 503 after try_duration. Kept for the bench comparison.
 *
 * Measured (bench/zero-downtime-proxy.ts, 20 keep-alive + 2 fresh loops, 6 switches, graceful
 * and abrupt closes in turn): passive 0 failures in 33,013 (app answering 200) and 0 in 82,995
 * (app answering 404); active 0 in 63,013 for the 200 app but 44 of 44 requests 503 for the 404
 * app. Passive costs a stall of up to fail_duration (longest request 520-560 ms) only when the
 * old release dies less than fail_duration after the new one came up on the first slot; with a
 * 2 s pause between the two (hiy's drain is longer) the longest request took 60 ms. Between
 * deploys, with the release on the second slot, about 6 requests a second pay one try_interval
 * (50 ms) because the empty first slot is tried again whenever its mark expires.
 */
export type HealthMode = { kind: 'passive' } | { kind: 'active'; uri: string };

export interface CaddyConfigOptions {
  adminAddress: HostPort;
  /** Interface the HTTP(S) listeners bind to; '' = all interfaces (production). */
  listenHost: string;
  httpPort: number;
  httpsPort: number;
  tls: TlsMode;
  domain: string;
  controlPlane: HostPort;
}

/** Tunables of the app routes; the defaults are what the measurements were made with. */
export const UPSTREAM_TUNING = {
  tryDuration: '5s',
  tryInterval: '50ms',
  /** Must stay well below tryDuration: a slot marked down must be usable again before retries give up. */
  failDuration: '1s',
  // Each live slot of every app gets one GET per interval (it shows in an app's request log). A
  // new release takes traffic at the checker's next tick, and the deploy waits that long before
  // the old release stops: 500 ms keeps push-to-live near the floor (bench/push-to-live).
  activeInterval: '500ms',
  activeTimeout: '2s',
  dialTimeout: '2s',
} as const;

export function appRouteId(app: string): string {
  return `${APP_ID_PREFIX}${app}`;
}

export function appHost(app: string, domain: string): string {
  return `${app}.${domain}`;
}

export function controlPlaneHost(domain: string): string {
  return `hiy.${domain}`;
}

/** `host:port` as Caddy wants it in dial and listen addresses (IPv6 in brackets). */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function slotDial(port: number): string {
  return joinHostPort('127.0.0.1', port);
}

/** The reverse_proxy handler of one app: two fixed slots, never rewritten by a deploy. */
export function appProxyHandler(slotPorts: number[], health: HealthMode = { kind: 'passive' }): JsonObject {
  const healthChecks: JsonObject = {
    passive: { fail_duration: UPSTREAM_TUNING.failDuration, max_fails: 1 },
  };
  if (health.kind === 'active') {
    healthChecks.active = { uri: health.uri, interval: UPSTREAM_TUNING.activeInterval, timeout: UPSTREAM_TUNING.activeTimeout };
  }
  return {
    handler: 'reverse_proxy',
    upstreams: slotPorts.map((port) => ({ dial: slotDial(port) })),
    load_balancing: {
      // Web replicas share the load. Slots without a container are skipped: active checks keep
      // them marked down, passive ones after one refused dial (retried on another slot).
      selection_policy: { policy: 'round_robin' },
      try_duration: UPSTREAM_TUNING.tryDuration,
      try_interval: UPSTREAM_TUNING.tryInterval,
    },
    health_checks: healthChecks,
    transport: { protocol: 'http', dial_timeout: UPSTREAM_TUNING.dialTimeout },
  };
}

export function appRoute(route: AppRoute, domain: string, health?: HealthMode): JsonObject {
  const dup = route.slotPorts.find((p, i) => route.slotPorts.indexOf(p) !== i);
  if (route.slotPorts.length < 2 || dup !== undefined) throw new Error(`app ${route.app}: slots must be at least two distinct ports (both slots use port ${dup ?? route.slotPorts[0]})`);
  return {
    '@id': appRouteId(route.app),
    match: [{ host: [appHost(route.app, domain), ...(route.extraHosts ?? [])] }],
    handle: [appProxyHandler(route.slotPorts, health ?? (route.activeHealthPath ? { kind: 'active', uri: route.activeHealthPath } : undefined))],
    terminal: true,
  };
}

export function controlPlaneRoute(opts: Pick<CaddyConfigOptions, 'domain' | 'controlPlane'>): JsonObject {
  return {
    '@id': CONTROL_PLANE_ID,
    match: [{ host: [controlPlaneHost(opts.domain)] }],
    handle: [{
      handler: 'reverse_proxy',
      upstreams: [{ dial: joinHostPort(opts.controlPlane.host, opts.controlPlane.port) }],
      // `git push` output and the dashboard's SSE must reach the client line by line.
      flush_interval: -1,
    }],
    terminal: true,
  };
}

/** Last route: a host nobody owns gets a plain 404 instead of Caddy's empty 200. */
export function fallbackRoute(): JsonObject {
  return {
    '@id': FALLBACK_ID,
    handle: [{ handler: 'static_response', status_code: 404, body: 'hiy: no app is served at {http.request.host}\n', headers: { 'Content-Type': ['text/plain; charset=utf-8'] } }],
    terminal: true,
  };
}

/** All routes in order: control plane, apps (host-matched, so their order is irrelevant), fallback. */
export function allRoutes(opts: CaddyConfigOptions, routes: AppRoute[], healthFor: (app: string) => HealthMode | undefined = () => undefined): JsonObject[] {
  const seen = new Set<string>();
  for (const r of routes) {
    if (seen.has(r.app)) throw new Error(`duplicate route for app ${r.app}`);
    seen.add(r.app);
  }
  const sorted = [...routes].sort((x, y) => x.app.localeCompare(y.app));
  return [controlPlaneRoute(opts), ...sorted.map((r) => appRoute(r, opts.domain, healthFor(r.app))), fallbackRoute()];
}

function httpServer(opts: CaddyConfigOptions, routes: JsonObject[]): JsonObject {
  const port = opts.tls === 'off' ? opts.httpPort : opts.httpsPort;
  const server: JsonObject = {
    listen: [joinHostPort(opts.listenHost, port)],
    routes,
    // Caddy's default answer to a failed proxy is an empty 502; say what happened instead.
    errors: {
      routes: [{
        handle: [{
          handler: 'static_response',
          status_code: '{http.error.status_code}',
          body: 'hiy: {http.request.host} is not available right now ({http.error.status_code})\n',
          headers: { 'Content-Type': ['text/plain; charset=utf-8'] },
        }],
      }],
    },
  };
  // tls off: plain HTTP only. Otherwise our own redirect server replaces Caddy's: Caddy 2.6 leaves
  // the port out of its redirect whenever https_port is set (it assumes a port forward from 443),
  // which sends browsers to the wrong port when HIY_HTTPS_PORT is not 443.
  server.automatic_https = opts.tls === 'off' ? { disable: true } : { disable_redirects: true };
  return server;
}

/** Plain HTTP → HTTPS on the configured port. Caddy answers ACME HTTP-01 challenges on every server first. */
function redirectServer(opts: CaddyConfigOptions): JsonObject {
  const port = opts.httpsPort === 443 ? '' : `:${opts.httpsPort}`;
  return {
    listen: [joinHostPort(opts.listenHost, opts.httpPort)],
    routes: [{
      handle: [{
        handler: 'static_response',
        status_code: 308,
        headers: { Location: [`https://{http.request.host}${port}{http.request.uri}`] },
      }],
    }],
  };
}

function tlsApp(opts: CaddyConfigOptions, routes: AppRoute[]): JsonObject | undefined {
  if (opts.tls !== 'internal') return undefined; // 'auto': Caddy's default ACME issuers (HTTP-01/TLS-ALPN).
  const custom = routes.flatMap((r) => r.extraHosts ?? []).sort();
  return {
    automation: {
      policies: [{
        subjects: [controlPlaneHost(opts.domain), `*.${opts.domain}`, ...custom],
        issuers: [{ module: 'internal' }],
        // The local CA runs no OCSP responder: stapling would only log a warning per certificate.
        disable_ocsp_stapling: true,
      }],
    },
  };
}

/**
 * The whole config hiy loads with one POST /load. `base` (proxy/base.json) holds the static
 * parts (logging, server timeouts, the local CA never touching the system trust store); the
 * generated parts win where both set a key.
 */
export function buildCaddyConfig(base: JsonObject, opts: CaddyConfigOptions, routes: AppRoute[], healthFor?: (app: string) => HealthMode | undefined): JsonObject {
  const http: JsonObject = {
    http_port: opts.httpPort,
    https_port: opts.httpsPort,
    servers: { [SERVER_NAME]: httpServer(opts, allRoutes(opts, routes, healthFor)) },
  };
  if (opts.tls !== 'off') (http.servers as JsonObject)[REDIRECT_SERVER_NAME] = redirectServer(opts);
  const apps: JsonObject = { http };
  const tls = tlsApp(opts, routes);
  if (tls) apps.tls = tls;
  const generated: JsonObject = {
    // A /load replaces the admin block too: without it the admin API would move to :2019.
    admin: { listen: joinHostPort(opts.adminAddress.host, opts.adminAddress.port) },
    apps,
  };
  return deepMerge(base, generated);
}

/** Objects merge key by key; anything else (arrays included) from `over` replaces `under`. */
export function deepMerge(under: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...under };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isObject(prev) && isObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The config the child Caddy boots with: only the admin endpoint, so hiy can load the rest. */
export function bootConfig(adminAddress: HostPort): JsonObject {
  return { admin: { listen: joinHostPort(adminAddress.host, adminAddress.port) } };
}

/** The route list of hiy's server in a full config (GET /config/), if Caddy runs hiy's config at all. */
export function hiyRoutesOf(config: Json | undefined): Json[] | undefined {
  const apps = isObject(config) ? config.apps : undefined;
  const http = isObject(apps) ? apps.http : undefined;
  const servers = isObject(http) ? http.servers : undefined;
  const server = isObject(servers) ? servers[SERVER_NAME] : undefined;
  const routes = isObject(server) ? server.routes : undefined;
  if (!Array.isArray(routes)) return undefined;
  return routes.some((r) => isObject(r) && r['@id'] === CONTROL_PLANE_ID) ? routes : undefined;
}

/**
 * The app routes in a running config's route list (the inverse of appRoute): lets hiy restart
 * against a running Caddy without changing its config. Anything not shaped like ours is skipped.
 */
export function parseAppRoutes(routes: Json | undefined): AppRoute[] {
  if (!Array.isArray(routes)) return [];
  const out: AppRoute[] = [];
  for (const r of routes) {
    if (!isObject(r)) continue;
    const id = r['@id'];
    if (typeof id !== 'string' || !id.startsWith(APP_ID_PREFIX)) continue;
    const handle = Array.isArray(r.handle) ? r.handle[0] : undefined;
    const upstreams = isObject(handle) && Array.isArray(handle.upstreams) ? handle.upstreams : [];
    const ports = upstreams.map((u) => (isObject(u) && typeof u.dial === 'string' ? /^127\.0\.0\.1:(\d{1,5})$/.exec(u.dial)?.[1] : undefined));
    if (ports.length < 2 || ports.some((p) => p === undefined)) continue;
    const active = isObject(handle) && isObject(handle.health_checks) && isObject(handle.health_checks.active) ? handle.health_checks.active.uri : undefined;
    const matchHosts = Array.isArray(r.match) && isObject(r.match[0]) && Array.isArray(r.match[0].host) ? r.match[0].host : [];
    const extraHosts = matchHosts.slice(1).filter((h): h is string => typeof h === 'string');
    out.push({
      app: id.slice(APP_ID_PREFIX.length),
      slotPorts: ports.map(Number),
      ...(typeof active === 'string' ? { activeHealthPath: active } : {}),
      ...(extraHosts.length ? { extraHosts } : {}),
    });
  }
  return out;
}
