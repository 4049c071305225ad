/**
 * Upgrading from a hiy whose Caddy config had one host-matched route per app (before decision 31)
 * without a reload: loading the new layout at start would close every idle keep-alive connection
 * once, in the middle of an upgrade that is otherwise invisible. So an upgraded hiy keeps the old
 * config running as long as it serves exactly what hiy would serve, mirroring live markers to
 * where the old routes look for them (<liveDir>/<app>/), and loads the new layout at the first
 * change that needs a config change anyway (an app created or destroyed, a domain, a certificate):
 * a reload the older hiy would have made too.
 */
import type { Json, JsonObject } from './caddy-json.js';
import { CONTROL_PLANE_ID, hiyRoutesOf, parseLegacyAppRoutes, REDIRECT_SERVER_NAME, routeSlotsOf, SERVER_NAME } from './caddy-config.js';
import type { AppRoute } from './proxy.js';

/** The app routes of a running old-layout config; undefined when Caddy runs anything else. */
export function oldLayoutRoutes(running: Json | undefined, slotPortBase: number): AppRoute[] | undefined {
  const routes = hiyRoutesOf(running);
  if (!routes || routeSlotsOf(routes) > 0) return undefined;
  return parseLegacyAppRoutes(routes, slotPortBase);
}

/**
 * Whether the running old-layout config does what `wanted` (hiy's new config) does apart from
 * routing apps: same admin address, ports, listeners, redirect server, control-plane route
 * (trusted proxies included), PKI, logging and loaded certificates. A changed setting must apply
 * now, so anything else means: load the new layout.
 */
export function sameApartFromApps(running: Json | undefined, wanted: JsonObject): boolean {
  const pick = (c: Json | undefined) => {
    const http = at(c, 'apps', 'http');
    const server = at(http, 'servers', SERVER_NAME);
    const routes = at(server, 'routes');
    return canonical([
      at(c, 'admin'), at(c, 'logging'), at(c, 'apps', 'pki'), at(c, 'apps', 'tls', 'certificates'),
      at(http, 'http_port'), at(http, 'https_port'), at(server, 'listen'), at(server, 'errors'),
      at(at(http, 'servers'), REDIRECT_SERVER_NAME),
      Array.isArray(routes) ? routes.find((r) => isObject(r) && r['@id'] === CONTROL_PLANE_ID) : undefined,
    ]);
  };
  return pick(running) === pick(wanted);
}

/** Whether two route sets route the same apps, on the same slot indexes, for the same hosts. */
export function sameRoutes(a: AppRoute[], b: AppRoute[]): boolean {
  const key = (rs: AppRoute[]) => JSON.stringify([...rs].sort((x, y) => x.app.localeCompare(y.app)).map((r) => [r.app, r.slotIndex, [...(r.extraHosts ?? [])].sort()]));
  return key(a) === key(b);
}

/** JSON with object keys sorted: Caddy answers GET /config/ with Go's sorted keys, hiy builds its own order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x: unknown) => canonical(x)).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return v === undefined ? 'null' : JSON.stringify(v);
}

function at(v: Json | undefined, ...path: string[]): Json | undefined {
  let cur = v;
  for (const k of path) cur = isObject(cur) ? cur[k] : undefined;
  return cur;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
