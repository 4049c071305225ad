/**
 * Upgrading from a hiy before decision 41, whose route slots have no notice routes (maintenance,
 * stopped): loading the new config at start would close every idle keep-alive connection once, in
 * the middle of an upgrade that is otherwise invisible. As with the per-app layout (old-layout.ts),
 * an upgraded hiy keeps that config running while it is exactly what hiy would load minus the
 * notice routes, and loads the full config when it is first needed: before the first notice file
 * is written (a notice must never be ignored), or at the first change that loads a config anyway.
 */
import type { Json, JsonObject } from './caddy-json.js';
import { hiyRoutesOf, routeSlotsOf } from './caddy-config.js';
import { isNoticeRoute } from './notices.js';
import { canonical } from './old-layout.js';

/**
 * Whether Caddy runs `wanted` (hiy's config, with as many route slots as Caddy runs) with the
 * notice routes left out of every route slot, and nothing else different. False when the running
 * config has its notice routes already (then loading `wanted` is no reload: Caddy skips an equal
 * config) or differs in anything else, which must apply now.
 */
export function runsWithoutNoticeRoutes(running: Json | undefined, wanted: JsonObject): boolean {
  if (routeSlotsOf(hiyRoutesOf(running)) === 0) return false;
  const now = canonical(running);
  // A JSON round trip drops keys whose value is undefined, as Caddy's copy never has them.
  return now === canonical(withoutNoticeRoutes(wanted)) && now !== canonical(JSON.parse(JSON.stringify(wanted)));
}

/** A copy of a config with every route slot's notice routes left out: what hiy loaded before decision 41. */
export function withoutNoticeRoutes(config: JsonObject): JsonObject {
  const copy = JSON.parse(JSON.stringify(config)) as JsonObject;
  for (const route of hiyRoutesOf(copy) ?? []) {
    const sub = isObject(route) && Array.isArray(route.handle) ? route.handle[0] : undefined;
    if (isObject(sub) && sub.handler === 'subroute' && Array.isArray(sub.routes)) sub.routes = sub.routes.filter((r) => !isNoticeRoute(r));
  }
  return copy;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
