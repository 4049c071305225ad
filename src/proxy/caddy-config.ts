/**
 * Pure functions that build hiy's Caddy 2.6 JSON config. No I/O: caddy.ts sends the result
 * through the admin API, the unit tests inspect it.
 *
 * The one rule that shapes everything here: the config does not change when apps come and go.
 * Every admin-API change is a full reload, also a path-level one, and a reload closes idle
 * keep-alive connections of every app (DESIGN.md, "Facts measured"; decision 31). So the config
 * holds a fixed number of route slots, one per app slot index, each listing that index's fixed
 * host ports. Which hosts a route slot serves, and which of its slots takes new requests, are
 * files Caddy stats per request (host-files.ts, live.ts). Hosts reach the TLS app through
 * on-demand certificates, asked of hiy, instead of a host list in the config.
 */
import type { CaddyAdminAddress, HostPort } from '../config.js';
import { allSlotPorts, portsOfSlot } from '../slots.js';
import type { Json, JsonObject } from './caddy-json.js';
import { skippedCertificates, tlsApp, type TlsOptions } from './caddy-tls.js';
import { liveMarkerName } from './live.js';
import { noticeRoutes } from './notices.js';
import type { AppRoute } from './proxy.js';

/** Name of hiy's one HTTP server in apps.http.servers; every route lives in its route list. */
export const SERVER_NAME = 'hiy';
export const REDIRECT_SERVER_NAME = 'hiy-redirect';
export const CONTROL_PLANE_ID = 'hiy-control-plane';
export const FALLBACK_ID = 'hiy-fallback';
const APP_ID_PREFIX = 'hiy-app-';
const SLOT_ID_PREFIX = 'hiy-slot-';
/** Route slots come in steps of this many: the config grows (one reload) only when an app's slot index passes them. */
export const ROUTE_SLOT_STEP = 16;

export interface CaddyConfigOptions extends TlsOptions {
  adminAddress: CaddyAdminAddress;
  /** Interface the HTTP(S) listeners bind to; '' = all interfaces (production). */
  listenHost: string;
  httpPort: number;
  httpsPort: number;
  controlPlane: HostPort;
  /** Where the live markers and host files are: <liveDir>/<index>/<slot><replicas>, <liveDir>/<index>/hosts/<host>. */
  liveDir: string;
  /** HIY_SLOT_PORT_BASE: route slot i proxies to the ports of slot index i (slots.ts). */
  slotPortBase: number;
  /** CIDRs whose X-Forwarded-For Caddy keeps (HIY_TRUSTED_PROXIES). */
  trustedProxies?: readonly string[];
  /**
   * Where the slot ports answer: 127.0.0.1 (default), or every Swarm node's address, since a
   * web replica's task may run on any of them (decision 38).
   */
  upstreamHosts?: readonly string[];
}

export const LOCAL_UPSTREAM_HOSTS: readonly string[] = ['127.0.0.1'];

/** Tunables of the app routes. */
export const UPSTREAM_TUNING = {
  tryDuration: '5s',
  tryInterval: '50ms',
  /** Must stay well below tryDuration: a slot marked down must be usable again before retries give up. */
  failDuration: '1s',
  /**
   * Dials to this box's own ports (one engine). A dial to loopback fails only when the app's
   * listen queue is full: TCP's SYN retransmit (1 s) then gets it through, where a shorter
   * timeout would mark the app's only upstream down for failDuration.
   */
  dialTimeout: '2s',
  /**
   * Dials to the nodes' addresses (a Swarm). A dead node's address (its box lost power) answers
   * never: below TCP's first SYN retransmit, a dead upstream costs a retry 0.5 s, not 2 s; with
   * 2 s, a node's death made requests run out of tryDuration (measured, tests/nodes/node-loss).
   */
  nodesDialTimeout: '500ms',
} as const;

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

export function slotRouteId(index: number): string {
  return `${SLOT_ID_PREFIX}${index}`;
}

/** Route slots for apps up to slot index `maxIndex` (-1: none yet): whole steps, at least one. */
export function routeSlotsFor(maxIndex: number): number {
  return Math.max(1, Math.ceil((maxIndex + 1) / ROUTE_SLOT_STEP)) * ROUTE_SLOT_STEP;
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

/** The admin address as Caddy's `admin.listen` wants it: `unix//path` or `host:port`. */
export function adminListen(a: CaddyAdminAddress): string {
  return 'socket' in a ? `unix/${a.socket}` : joinHostPort(a.host, a.port);
}

/** The admin address for people: `unix:/path` (as HIY_CADDY_ADMIN spells it) or `host:port`. */
export function adminLabel(a: CaddyAdminAddress): string {
  return 'socket' in a ? `unix:${a.socket}` : joinHostPort(a.host, a.port);
}

export function slotDial(port: number, host = '127.0.0.1'): string {
  return joinHostPort(host, port);
}

/** Every host for every port, port by port: a port answers on the one node that runs its task. */
export function slotDials(ports: number[], hosts: readonly string[] = LOCAL_UPSTREAM_HOSTS): string[] {
  return ports.flatMap((port) => hosts.map((host) => slotDial(port, host)));
}

/**
 * The reverse_proxy handler for a list of slot ports: round robin over the web replicas, passive
 * health (a refused dial marks a port down for fail_duration), retries on another port for up to
 * try_duration. Caddy 2.6 retries GETs on any failed round trip and other methods on dial errors.
 */
export function appProxyHandler(ports: number[], trustedProxies: readonly string[] = [], hosts: readonly string[] = LOCAL_UPSTREAM_HOSTS): JsonObject {
  return {
    handler: 'reverse_proxy',
    upstreams: slotDials(ports, hosts).map((dial) => ({ dial })),
    ...trusted(trustedProxies),
    load_balancing: {
      selection_policy: { policy: 'round_robin' },
      try_duration: UPSTREAM_TUNING.tryDuration,
      try_interval: UPSTREAM_TUNING.tryInterval,
    },
    health_checks: { passive: { fail_duration: UPSTREAM_TUNING.failDuration, max_fails: 1 } },
    transport: { protocol: 'http', dial_timeout: hosts.every(isLoopback) ? UPSTREAM_TUNING.dialTimeout : UPSTREAM_TUNING.nodesDialTimeout },
  };
}

/** Caddy 2.6 keeps an incoming X-Forwarded-For only from these (a reverse_proxy setting; 2.7 moved it to the server). */
function trusted(ranges: readonly string[]): JsonObject {
  return ranges.length > 0 ? { trusted_proxies: [...ranges] } : {};
}

/**
 * Route slot `index` (the app with that slot index, whichever it is): matched when Caddy finds the
 * request's host among the slot's host files, then one inner route per live state (slot a or b
 * with 1..N web replicas), each chosen by Caddy's file matcher when hiy's marker
 * <liveDir>/<index>/<state> exists, proxying to exactly that slot's running replicas. Caddy stats
 * both per request, so hiy adds a host or moves traffic with one file operation: no admin change,
 * no reload, no connection closed, and a release that is starting or draining is never picked.
 * Without a marker (never deployed, or the run dir was lost) every slot port is listed and
 * passive checks skip the empty ones.
 */
export function slotRoute(index: number, slotPortBase: number, liveDir: string, trustedProxies: readonly string[] = [], hosts: readonly string[] = LOCAL_UPSTREAM_HOSTS): JsonObject {
  const ports = allSlotPorts({ slot_index: index }, slotPortBase);
  const dir = `${liveDir}/${index}`;
  // A notice (maintenance, stopped) wins over the live markers (notices.ts).
  const inner: JsonObject[] = noticeRoutes(dir);
  for (const slot of ['a', 'b'] as const) {
    for (let n = 1; n <= ports.length / 2; n++) {
      inner.push({
        match: [{ file: { root: dir, try_files: [`/${liveMarkerName({ slot, replicas: n })}`] } }],
        handle: [appProxyHandler(portsOfSlot(ports, slot, n), trustedProxies, hosts)],
        terminal: true,
      });
    }
  }
  inner.push({ handle: [appProxyHandler(ports, trustedProxies, hosts)], terminal: true });
  return {
    '@id': slotRouteId(index),
    // {http.request.host} has no port; the file matcher keeps the lookup inside root.
    match: [{ file: { root: `${dir}/hosts`, try_files: ['/{http.request.host}'] } }],
    handle: [{ handler: 'subroute', routes: inner }],
    terminal: true,
  };
}

export function controlPlaneRoute(opts: Pick<CaddyConfigOptions, 'domain' | 'controlPlane' | 'trustedProxies'>): JsonObject {
  return {
    '@id': CONTROL_PLANE_ID,
    match: [{ host: [controlPlaneHost(opts.domain)] }],
    handle: [{
      handler: 'reverse_proxy',
      upstreams: [{ dial: joinHostPort(opts.controlPlane.host, opts.controlPlane.port) }],
      ...trusted(opts.trustedProxies ?? []),
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

/**
 * All routes in order: control plane, the route slots (low indexes first: apps get the lowest free
 * index, so a request stats as few host files as there are apps before its own), fallback.
 */
export function allRoutes(opts: CaddyConfigOptions, routeSlots: number): JsonObject[] {
  const slots = Array.from({ length: routeSlots }, (_, i) => slotRoute(i, opts.slotPortBase, opts.liveDir, opts.trustedProxies, opts.upstreamHosts));
  return [controlPlaneRoute(opts), ...slots, fallbackRoute()];
}

function httpServer(opts: CaddyConfigOptions, routeSlots: number): JsonObject {
  const routes = allRoutes(opts, routeSlots);
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
  // Only hiy.<domain> is in a host matcher (app hosts are files), so only it could be ordered ahead.
  const skip = skippedCertificates(opts, [controlPlaneHost(opts.domain)]);
  if (skip) (server.automatic_https as JsonObject).skip_certificates = skip;
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

/**
 * The whole config hiy loads with one POST /load. `base` (proxy/base.json) holds the static
 * parts (logging, server timeouts, the local CA never touching the system trust store); the
 * generated parts win where both set a key. Apps are not in it: only how many route slots exist.
 */
export function buildCaddyConfig(base: JsonObject, opts: CaddyConfigOptions, routeSlots: number): JsonObject {
  const http: JsonObject = {
    http_port: opts.httpPort,
    https_port: opts.httpsPort,
    servers: { [SERVER_NAME]: httpServer(opts, routeSlots) },
  };
  if (opts.tls !== 'off') (http.servers as JsonObject)[REDIRECT_SERVER_NAME] = redirectServer(opts);
  const apps: JsonObject = { http };
  const tls = tlsApp(opts, controlPlaneHost(opts.domain), tlsAskUrl(opts.controlPlane));
  if (tls) apps.tls = tls;
  const generated: JsonObject = {
    // A /load replaces the admin block too: without it the admin API would move to TCP :2019,
    // where every local user could reach it.
    admin: { listen: adminListen(opts.adminAddress) },
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

/** Where Caddy asks whether it may get a certificate for a host on demand (src/http, tls-ask). */
export const TLS_ASK_PATH = '/internal/tls-ask';

export function tlsAskUrl(controlPlane: HostPort): string {
  return `http://${joinHostPort(controlPlane.host, controlPlane.port)}${TLS_ASK_PATH}`;
}

/** How many route slots a running config has (0: not hiy's current layout). */
export function routeSlotsOf(routes: Json[] | undefined): number {
  return (routes ?? []).filter((r) => isObject(r) && typeof r['@id'] === 'string' && r['@id'].startsWith(SLOT_ID_PREFIX)).length;
}

/** The config the child Caddy boots with: only the admin endpoint, so hiy can load the rest. */
export function bootConfig(adminAddress: CaddyAdminAddress): JsonObject {
  return { admin: { listen: adminListen(adminAddress) } };
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
 * The app routes of a Caddy that still runs the config of an older hiy (one host-matched route per
 * app): an upgraded hiy writes their host files before it loads its own config, so no app answers
 * 404 in between. Anything not shaped like those routes is skipped.
 */
export function parseLegacyAppRoutes(routes: Json | undefined, slotPortBase: number): AppRoute[] {
  if (!Array.isArray(routes)) return [];
  const out: AppRoute[] = [];
  for (const r of routes) {
    if (!isObject(r)) continue;
    const id = r['@id'];
    if (typeof id !== 'string' || !id.startsWith(APP_ID_PREFIX)) continue;
    // Ours: a subroute whose last inner route lists every slot port (older hiy: the proxy itself).
    let handle = Array.isArray(r.handle) ? r.handle[0] : undefined;
    if (isObject(handle) && handle.handler === 'subroute' && Array.isArray(handle.routes)) {
      const last = handle.routes[handle.routes.length - 1];
      handle = isObject(last) && Array.isArray(last.handle) ? last.handle[0] : undefined;
    }
    const upstreams = isObject(handle) && Array.isArray(handle.upstreams) ? handle.upstreams : [];
    const ports = upstreams.map((u) => (isObject(u) && typeof u.dial === 'string' ? /^127\.0\.0\.1:(\d{1,5})$/.exec(u.dial)?.[1] : undefined));
    if (ports.length < 2 || ports.length % 2 !== 0 || ports.some((p) => p === undefined)) continue;
    const matchHosts = Array.isArray(r.match) && isObject(r.match[0]) && Array.isArray(r.match[0].host) ? r.match[0].host : [];
    const extraHosts = matchHosts.slice(1).filter((h): h is string => typeof h === 'string');
    const slotIndex = (Number(ports[0]) - slotPortBase) / ports.length;
    const expected = Number.isInteger(slotIndex) && slotIndex >= 0 ? allSlotPorts({ slot_index: slotIndex }, slotPortBase) : [];
    if (expected.join(',') !== ports.join(',')) continue;
    out.push({
      app: id.slice(APP_ID_PREFIX.length),
      slotIndex,
      ...(extraHosts.length ? { extraHosts } : {}),
    });
  }
  return out;
}
